//! The registries after a real participant lifecycle on the devchain, synced from block 1:
//! the cooperative, board and roles, candidates, participants, decisions with their votes,
//! payments, document packages and branches, current and as of earlier blocks.

mod support;

use support::chain::{key, n, registration_hash, signed_document, TestChain, VOSKHOD, ZARYA};
use support::Node;
use tenant_node::db::registry::Registry;
use tenant_node::registry::{Direction, PaymentStatus, Resolution, VoteKind};

const ALICE: &str = "alice1111111";
const BOB: &str = "bob111111111";

#[tokio::test(flavor = "multi_thread")]
async fn registries_follow_the_participant_lifecycle_and_answer_as_of_a_block() {
    let chain = TestChain::start().await;
    chain.produce(2);
    let alice_decision = chain.register(&VOSKHOD, ALICE, 30);
    let z = chain.register(&ZARYA, "zed111111111", 31);
    let b_reg = chain.produce(1);
    chain.vote(&VOSKHOD, alice_decision, VOSKHOD.chairman, true);
    chain.vote(&VOSKHOD, alice_decision, VOSKHOD.members[0], true);
    chain.vote_all_for(&ZARYA, z);
    let b_votes = chain.produce(1);
    chain.vote(&VOSKHOD, alice_decision, VOSKHOD.members[1], true);
    chain.produce(1);
    chain.accept(&VOSKHOD, alice_decision, ALICE);
    chain.accept(&ZARYA, z, "zed111111111");
    let b_acc = chain.produce(1);
    chain.create_branch(&VOSKHOD, "north", ALICE);
    chain.produce(1);
    let bob_decision = chain.register(&VOSKHOD, BOB, 32);
    let b_bob = chain.produce(1);
    for voter in VOSKHOD.members {
        chain.vote(&VOSKHOD, bob_decision, voter, false);
    }
    chain.produce(1);
    chain.decline(&VOSKHOD, bob_decision);
    let b_decl = chain.produce(1);
    chain.complete_refund(&VOSKHOD, BOB);
    let head = chain.produce(2);

    let node = Node::new(&chain).await;
    node.sync_to(head).await;
    let reg = Registry::new(
        node.db.clone(),
        node.config.coopname,
        node.config.contracts.clone(),
    );

    // the cooperative
    let coop = reg.cooperative(None).await.unwrap().expect("orgs row");
    assert_eq!(coop.username, n("voskhod"));
    assert!(!coop.is_branched);
    assert_eq!(coop.registration.to_string(), "100.0000 AXON");
    assert_eq!(coop.minimum.to_string(), "300.0000 AXON");
    assert_eq!(coop.block_num, 1, "written by the genesis");

    // board and roles
    let boards = reg.boards(None).await.unwrap();
    assert_eq!(boards.len(), 1);
    let roles = reg.roles(None).await.unwrap();
    assert_eq!(roles.chairman, Some(n("chairman")));
    assert_eq!(
        roles.voting_members,
        [n("chairman"), n("member1"), n("member2")]
    );

    // candidates: alice paid and waiting, then accepted; bob refunding after the decline
    let at_reg = reg.candidates(Some(b_reg)).await.unwrap();
    assert_eq!(at_reg.len(), 1);
    assert_eq!(at_reg[0].username, n(ALICE));
    assert_eq!(at_reg[0].status, n("payed"));
    assert_eq!(at_reg[0].registration_hash, registration_hash(ALICE));
    let statement = signed_document(100, ALICE, ALICE, &key(30)).hash;
    assert_eq!(at_reg[0].statement.hash, statement);
    let at_decl = reg.candidates(Some(b_decl)).await.unwrap();
    assert_eq!(at_decl.len(), 1);
    assert_eq!(
        (at_decl[0].username, at_decl[0].status),
        (n(BOB), n("refunding"))
    );
    assert!(reg.candidates(None).await.unwrap().is_empty());

    // participants
    assert!(reg.participants(Some(b_reg)).await.unwrap().is_empty());
    let now = reg.participants(None).await.unwrap();
    assert_eq!(now.len(), 1, "only voskhod's participant: {now:?}");
    assert_eq!(now[0].username, n(ALICE));
    assert_eq!(now[0].status, n("accepted"));
    assert_eq!(now[0].block_num, b_acc);
    assert_eq!(
        reg.participant(n(ALICE), Some(b_acc)).await.unwrap(),
        Some(now[0].clone())
    );
    assert_eq!(
        reg.participant(n(ALICE), Some(b_votes)).await.unwrap(),
        None
    );

    // decisions and votes
    let agenda = reg.agenda(Some(b_votes)).await.unwrap();
    assert_eq!(agenda.len(), 1);
    assert_eq!(agenda[0].id, alice_decision);
    assert_eq!(agenda[0].votes_for, [n("chairman"), n("member1")]);
    assert_eq!(agenda[0].hash, Some(registration_hash(ALICE)));
    assert!(reg.agenda(None).await.unwrap().is_empty());
    let done = reg.decision(alice_decision, None).await.unwrap().unwrap();
    // erased with its state of the block before (authorized and executed in one transaction)
    assert!(!done.on_agenda && done.approved && !done.authorized);
    assert_eq!(
        done.resolution,
        Some(Resolution::Executed { block_num: b_acc })
    );
    let declined = reg.decision(bob_decision, None).await.unwrap().unwrap();
    assert_eq!(
        declined.resolution,
        Some(Resolution::Declined { block_num: b_decl })
    );
    let open = reg
        .decision(bob_decision, Some(b_bob))
        .await
        .unwrap()
        .unwrap();
    assert!(open.on_agenda && open.resolution.is_none());
    let votes = reg.votes(Some(alice_decision), None).await.unwrap();
    assert_eq!(votes.len(), 3);
    assert!(votes.iter().all(|v| v.kind == VoteKind::For));
    assert_eq!(
        votes.iter().map(|v| v.block_num).collect::<Vec<_>>(),
        [b_votes, b_votes, b_votes + 1]
    );
    assert_eq!(
        reg.votes(Some(alice_decision), Some(b_votes))
            .await
            .unwrap()
            .len(),
        2
    );
    let against = reg.votes(Some(bob_decision), None).await.unwrap();
    assert_eq!(against.len(), 2);
    assert!(against.iter().all(|v| v.kind == VoteKind::Against));

    // payments: both entrance payments in, bob's refund out
    let payments = reg.payments(None).await.unwrap();
    let summary: Vec<_> = payments
        .iter()
        .map(|p| {
            (
                p.direction,
                p.username.to_string(),
                p.status,
                p.quantity.to_string(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                Direction::Incoming,
                ALICE.to_owned(),
                PaymentStatus::Completed,
                "400.0000 AXON".to_owned()
            ),
            (
                Direction::Incoming,
                BOB.to_owned(),
                PaymentStatus::Completed,
                "400.0000 AXON".to_owned()
            ),
            (
                Direction::Outgoing,
                BOB.to_owned(),
                PaymentStatus::Completed,
                "400.0000 AXON".to_owned()
            ),
        ]
    );
    assert_eq!(payments[1].created_block, b_bob);
    let refund_then = reg.payments(Some(b_decl)).await.unwrap();
    assert_eq!(refund_then[2].status, PaymentStatus::Pending);

    // document packages by hash
    let alice_pkg = reg
        .document_package(registration_hash(ALICE), None)
        .await
        .unwrap()
        .expect("alice's package");
    assert_eq!(alice_pkg.action, n("joincoop"));
    assert_eq!(alice_pkg.statement_hash, Some(statement));
    let decision_doc = signed_document(501, ALICE, "chairman", &key(11)).hash;
    assert_eq!(alice_pkg.decision_hash, Some(decision_doc));
    assert_eq!(alice_pkg.agreements.len(), 4);
    assert_eq!(alice_pkg.resolved_block, Some(b_acc));
    let open = reg
        .document_package(registration_hash(ALICE), Some(b_votes))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((open.decision_hash, open.resolved_block), (None, None));
    let bob_pkg = reg
        .document_package(registration_hash(BOB), None)
        .await
        .unwrap()
        .unwrap();
    assert!(bob_pkg.declined && bob_pkg.decision_hash.is_none());
    assert_eq!(reg.document_packages(None).await.unwrap().len(), 2);

    // branches
    assert!(reg.branches(Some(b_acc)).await.unwrap().is_empty());
    let branches = reg.branches(None).await.unwrap();
    assert_eq!(branches.len(), 1);
    assert_eq!(
        (branches[0].braname, branches[0].trustee),
        (n("north"), n(ALICE))
    );
    chain.shutdown().await;
}
