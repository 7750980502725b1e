//! An in-process devchain with the simulated cooperative contracts and two cooperatives
//! (`voskhod`, the one under test, and `zarya`, whose activity the node must ignore), and the
//! participant lifecycle driven through the chain library: registration, council votes,
//! authorization and `exec`, declines with refunds, branches.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use chain::abi::Abi;
use chain::api::ChainClient;
use chain::bytes::Bytes;
use chain::coop::{vote_digest, VoteKind};
use chain::document::Document2;
use chain::keys::PrivateKey;
use chain::time::TimePointSec;
use chain::transaction::{Action, PermissionLevel, Transaction};
use chain::{Checksum256, Name};
use devchain::contracts::{contract_abi, coopos_contracts};
use devchain::genesis::{AccountEntry, BoardEntry, CooperativeEntry, GenesisFile, MemberEntry};
use devchain::{Devchain, DevchainConfig, DevchainHandle, Genesis};
use serde_json::{json, Value};

pub const CHAIN_ID: &str = "8a34ec7df1b8cd06ff4a8abbaa7cc50300823350cadc59ab296cb00d104d2b8f";
pub const CONTRACTS: &[(&str, u8)] = &[
    ("registrator", 20),
    ("gateway", 21),
    ("soviet", 22),
    ("branch", 23),
    ("draft", 24),
];

pub fn n(s: &str) -> Name {
    Name::parse(s).expect("name")
}

pub fn key(seed: u8) -> PrivateKey {
    PrivateKey::from_bytes(&[seed; 32]).expect("key")
}

/// A cooperative of the genesis: its account and council (names with key seeds).
#[derive(Debug, Clone, Copy)]
pub struct Coop {
    pub name: &'static str,
    pub seed: u8,
    pub chairman: (&'static str, u8),
    pub members: [(&'static str, u8); 2],
}

impl Coop {
    pub fn key(&self) -> PrivateKey {
        key(self.seed)
    }

    pub fn council(&self) -> [(&'static str, u8); 3] {
        [self.chairman, self.members[0], self.members[1]]
    }
}

pub const VOSKHOD: Coop = Coop {
    name: "voskhod",
    seed: 10,
    chairman: ("chairman", 11),
    members: [("member1", 12), ("member2", 13)],
};

pub const ZARYA: Coop = Coop {
    name: "zarya",
    seed: 40,
    chairman: ("zchairman", 41),
    members: [("zmembera", 42), ("zmemberb", 43)],
};

fn cooperative(c: &Coop) -> CooperativeEntry {
    let member = |(name, seed): (&str, u8)| MemberEntry {
        username: n(name),
        public_key: key(seed).public_key(),
    };
    CooperativeEntry {
        username: n(c.name),
        public_key: c.key().public_key(),
        announce: format!("Cooperative {}", c.name),
        description: String::new(),
        registration: "100.0000 AXON".into(),
        initial: "100.0000 AXON".into(),
        minimum: "300.0000 AXON".into(),
        org_registration: Some("1000.0000 AXON".into()),
        org_initial: Some("1000.0000 AXON".into()),
        org_minimum: Some("3000.0000 AXON".into()),
        is_branched: false,
        board: BoardEntry {
            chairman: member(c.chairman),
            members: c.members.iter().map(|m| member(*m)).collect(),
        },
    }
}

/// Both cooperatives, the contracts with the devchain's own ABIs, test controls on. With a long
/// `block_interval_ms` blocks come only on request.
pub fn genesis(dir: &Path, block_interval_ms: u64, lib_lag: u32) -> Genesis {
    let abi_dir = dir.join("abi");
    std::fs::create_dir_all(&abi_dir).expect("abi dir");
    let mut accounts = vec![AccountEntry {
        name: n("eosio"),
        public_key: key(1).public_key(),
        abi: None,
        privileged: true,
    }];
    for (name, seed) in CONTRACTS {
        let path = abi_dir.join(format!("{name}.abi"));
        std::fs::write(&path, contract_abi(name).expect("contract ABI")).expect("write ABI");
        accounts.push(AccountEntry {
            name: n(name),
            public_key: key(*seed).public_key(),
            abi: Some(path),
            privileged: false,
        });
    }
    let file = GenesisFile {
        chain_id: CHAIN_ID.into(),
        block_interval_ms,
        lib_lag,
        data_dir: dir.join("data"),
        http_addr: "127.0.0.1:0".into(),
        ship_addr: "127.0.0.1:0".into(),
        test_controls: true,
        accounts,
        cooperatives: vec![cooperative(&VOSKHOD), cooperative(&ZARYA)],
    };
    Genesis::validate(file, dir).expect("genesis")
}

/// A running devchain and what the lifecycle helpers need.
#[derive(Debug)]
pub struct TestChain {
    pub handle: DevchainHandle,
    pub client: ChainClient,
    abis: HashMap<&'static str, Abi>,
    /// Decisions created so far per cooperative (ids are sequential from 1).
    decisions: Mutex<HashMap<&'static str, u64>>,
    _dir: tempfile::TempDir,
}

impl TestChain {
    /// Starts a chain whose blocks come only on request (`produce`), LIB = head − 3.
    pub async fn start() -> TestChain {
        TestChain::start_with(60_000, 3).await
    }

    pub async fn start_with(block_interval_ms: u64, lib_lag: u32) -> TestChain {
        let dir = tempfile::tempdir().expect("tempdir");
        let genesis = genesis(dir.path(), block_interval_ms, lib_lag);
        let handle = Devchain::start(DevchainConfig {
            genesis,
            contracts: coopos_contracts(),
        })
        .await
        .expect("start devchain");
        let client = ChainClient::new(&handle.http_url(), Duration::from_secs(10)).expect("client");
        let mut abis = HashMap::new();
        for (name, _) in CONTRACTS {
            let text = contract_abi(name).expect("ABI");
            abis.insert(*name, Abi::from_json(text).expect("ABI parses"));
        }
        TestChain {
            handle,
            client,
            abis,
            decisions: Mutex::new(HashMap::new()),
            _dir: dir,
        }
    }

    pub fn http_url(&self) -> String {
        self.handle.http_url()
    }

    pub fn ship_url(&self) -> String {
        self.handle.ship_url()
    }

    /// Produces `blocks` blocks in-process; returns the new head.
    pub fn produce(&self, blocks: u32) -> u32 {
        let mut head = self.head();
        for _ in 0..blocks {
            head = self.handle.node.produce_block().expect("produce");
        }
        head
    }

    pub fn head(&self) -> u32 {
        self.handle.node.with(|i| i.chain.head().num).expect("lock")
    }

    pub fn lib(&self) -> u32 {
        self.handle.node.with(|i| i.chain.lib_num()).expect("lock")
    }

    /// The devchain's fork test control (over HTTP): replaces the newest `blocks` blocks.
    pub async fn fork(&self, blocks: u32) -> u32 {
        let url = format!("{}/v1/devchain/fork", self.http_url());
        let resp = reqwest::Client::new()
            .post(url)
            .json(&json!({ "blocks": blocks }))
            .send()
            .await
            .expect("fork control");
        assert!(resp.status().is_success(), "fork: {}", resp.status());
        let v: Value = resp.json().await.expect("json");
        v["head_block_num"].as_u64().expect("head") as u32
    }

    /// Encodes an action with the contract's ABI.
    pub fn act(&self, account: &'static str, name: &str, actor: &str, data: Value) -> Action {
        let abi = &self.abis[account];
        Action {
            account: n(account),
            name: n(name),
            authorization: vec![PermissionLevel::new(n(actor), n("active"))],
            data: Bytes(abi.encode_action(n(name), &data).expect("encode action")),
        }
    }

    /// Signs with TAPOS from the current LIB and pushes in-process into the pending block.
    pub fn push(&self, actions: Vec<Action>, keys: &[&PrivateKey]) -> Result<(), String> {
        self.push_expiring(actions, keys, 1800)
    }

    /// Like `push` with the expiration `secs` after the head block's time (a short one makes a
    /// fork drop the transaction instead of applying it again).
    pub fn push_expiring(
        &self,
        actions: Vec<Action>,
        keys: &[&PrivateKey],
        secs: u32,
    ) -> Result<(), String> {
        let (head_time, lib_num, lib_id) = self
            .handle
            .node
            .with(|i| {
                let head = i.chain.head();
                let lib = i.chain.block(i.chain.lib_num()).unwrap_or(head);
                (TimePointSec::from(head.timestamp), lib.num, lib.id)
            })
            .expect("lock");
        let expiration = head_time.checked_add_secs(secs).expect("expiration");
        let mut trx = Transaction::with_tapos(expiration, lib_num, &lib_id);
        trx.actions = actions;
        let chain_id = Checksum256::from_hex(CHAIN_ID).expect("chain id");
        let packed = trx.sign(&chain_id, keys).to_packed();
        self.handle
            .node
            .push_transaction(&packed)
            .map(drop)
            .map_err(|e| e.to_string())
    }

    /// Registers `username` (key seed `seed`) with `coop`: the controller's one transaction
    /// (newaccount, reguser, gateway::incomplete, four agreements). Returns the decision id.
    pub fn register(&self, coop: &Coop, username: &str, seed: u8) -> u64 {
        let acts = self.registration_actions(coop, username, seed);
        self.push(acts, &[&coop.key()]).expect("registration");
        let mut d = self.decisions.lock().expect("lock");
        let id = d.entry(coop.name).or_insert(0);
        *id += 1;
        *id
    }

    /// The registration transaction's actions (all signed by the cooperative).
    pub fn registration_actions(&self, coop: &Coop, username: &str, seed: u8) -> Vec<Action> {
        let user_key = key(seed);
        let hash = registration_hash(username);
        let c = coop.name;
        let statement = signed_document(100, username, username, &user_key);
        let mut acts = vec![
            self.act(
                "registrator",
                "newaccount",
                c,
                json!({"coopname": c, "referer": "",
                "username": username, "public_key": user_key.public_key(), "meta": ""}),
            ),
            self.act(
                "registrator",
                "reguser",
                c,
                json!({"coopname": c, "braname": "",
                "username": username, "type": "individual", "statement": statement,
                "registration_hash": hash}),
            ),
            self.act(
                "gateway",
                "incomplete",
                c,
                json!({"coopname": c, "income_hash": hash}),
            ),
        ];
        for (i, kind) in ["wallet", "signature", "privacy", "user"]
            .iter()
            .enumerate()
        {
            let doc = signed_document(1 + i as u64, username, username, &user_key);
            acts.push(self.act(
                "soviet",
                "sndagreement",
                c,
                json!({"coopname": c,
                "administrator": c, "username": username, "agreement_type": kind,
                "document": doc}),
            ));
        }
        acts
    }

    /// One council member's vote with the member's own key.
    pub fn vote(&self, coop: &Coop, decision_id: u64, voter: (&str, u8), for_: bool) {
        let kind = if for_ {
            VoteKind::For
        } else {
            VoteKind::Against
        };
        let signed_at = TimePointSec::from_unix(1_739_448_100);
        let digest = vote_digest(kind, n(coop.name), decision_id, signed_at);
        let k = key(voter.1);
        let act = self.act(
            "soviet",
            kind.action(),
            voter.0,
            json!({"version": "1.0.0",
            "coopname": coop.name, "username": voter.0, "decision_id": decision_id,
            "signed_at": signed_at, "signed_hash": digest, "signature": k.sign_digest(&digest),
            "public_key": k.public_key(), "permission": "active"}),
        );
        self.push(vec![act], &[&k]).expect("vote");
    }

    pub fn vote_all_for(&self, coop: &Coop, decision_id: u64) {
        for voter in coop.council() {
            self.vote(coop, decision_id, voter, true);
        }
    }

    /// The chairman's authorization and `exec` (one coop-signed transaction).
    pub fn accept(&self, coop: &Coop, decision_id: u64, username: &str) {
        let c = coop.name;
        let authorization = signed_document(501, username, coop.chairman.0, &key(coop.chairman.1));
        let acts = vec![
            self.act(
                "soviet",
                "authorize",
                c,
                json!({"coopname": c,
                "chairman": coop.chairman.0, "decision_id": decision_id,
                "document": authorization, "permission": "active"}),
            ),
            self.act(
                "soviet",
                "exec",
                c,
                json!({"executer": coop.chairman.0, "coopname": c,
                "decision_id": decision_id}),
            ),
        ];
        self.push(acts, &[&coop.key()]).expect("authorize + exec");
    }

    /// The council declines: the candidate is refunded through a gateway outcome.
    pub fn decline(&self, coop: &Coop, decision_id: u64) {
        let c = coop.name;
        let act = self.act(
            "soviet",
            "declinedec",
            c,
            json!({"coopname": c,
            "decision_id": decision_id}),
        );
        self.push(vec![act], &[&coop.key()]).expect("declinedec");
    }

    /// The cashier completes the refund of a declined registration.
    pub fn complete_refund(&self, coop: &Coop, username: &str) {
        let c = coop.name;
        let act = self.act(
            "gateway",
            "outcomplete",
            c,
            json!({"coopname": c,
            "outcome_hash": registration_hash(username)}),
        );
        self.push(vec![act], &[&coop.key()]).expect("outcomplete");
    }

    pub fn create_branch(&self, coop: &Coop, braname: &str, trustee: &str) {
        let c = coop.name;
        let act = self.act(
            "branch",
            "createbranch",
            c,
            json!({"coopname": c,
            "braname": braname, "trustee": trustee}),
        );
        self.push(vec![act], &[&coop.key()]).expect("createbranch");
    }

    /// Cooperative activity spread over the blocks, in both cooperatives: for each of `users`
    /// rounds a registration, the council's votes and either acceptance or (every third round)
    /// a decline with a completed refund; `gap` empty blocks between the steps. Returns the head.
    pub fn busy_history(&self, users: usize, gap: u32) -> u32 {
        for i in 0..users {
            for (coop, prefix) in [(&VOSKHOD, "va"), (&ZARYA, "za")] {
                let user = user_name(prefix, i);
                let d = self.register(coop, &user, 50);
                self.produce(gap);
                if i % 3 == 2 {
                    for voter in coop.members {
                        self.vote(coop, d, voter, false);
                    }
                    self.produce(gap);
                    self.decline(coop, d);
                    self.produce(gap);
                    self.complete_refund(coop, &user);
                } else {
                    self.vote_all_for(coop, d);
                    self.produce(gap);
                    self.accept(coop, d, &user);
                }
                self.produce(gap);
            }
        }
        self.head()
    }

    pub async fn shutdown(self) {
        self.handle.shutdown().await.expect("devchain shutdown");
    }
}

/// A "1.1.0" document for `registry_id` signed by `signer`.
pub fn signed_document(
    registry_id: u64,
    salt: &str,
    signer: &str,
    signer_key: &PrivateKey,
) -> Document2 {
    let doc_hash = Checksum256::sha256(format!("pdf {registry_id} {salt}")).to_hex_upper();
    let meta = json!({"registry_id": registry_id, "lang": "ru", "generator": "tenant-node-tests",
        "created_at": "2025-02-13 12:00:00", "block_num": 1, "username": salt});
    let mut doc = Document2::new(&doc_hash, &meta).expect("document");
    doc.sign(
        n(signer),
        signer_key,
        TimePointSec::from_unix(1_739_448_000),
        1,
    );
    doc
}

/// `registration_hash` of `username` (the rule lives in `chain::coop`).
pub fn registration_hash(username: &str) -> Checksum256 {
    chain::coop::registration_hash(n(username))
}

/// `prefix` + 10 base-32 digits of `i`: a distinct 12-character account name.
pub fn user_name(prefix: &str, i: usize) -> String {
    const DIGITS: &[u8] = b"abcdefghijklmnopqrstuvwxyz12345";
    let mut text = String::from(prefix);
    let mut v = i;
    for _ in 0..(12 - prefix.len()) {
        text.push(DIGITS[v % DIGITS.len()] as char);
        v /= DIGITS.len();
    }
    text
}

impl TestChain {
    /// Replaces `coop`'s active key (`eosio::updateauth`, signed with its genesis key): the
    /// cooperative then signs with `new_key` only.
    pub fn set_active_key(&self, coop: &Coop, new_key: &PrivateKey) {
        let abi = Abi::from_json(devchain::system::SYSTEM_ABI_JSON).expect("system ABI");
        let data = json!({"account": coop.name, "permission": "active", "parent": "owner",
            "auth": {"threshold": 1, "keys": [{"key": new_key.public_key(), "weight": 1}],
                     "accounts": [], "waits": []}});
        let act = Action {
            account: n("eosio"),
            name: n("updateauth"),
            authorization: vec![PermissionLevel::new(n(coop.name), n("owner"))],
            data: Bytes(
                abi.encode_action(n("updateauth"), &data)
                    .expect("encode updateauth"),
            ),
        };
        self.push(vec![act], &[&coop.key()]).expect("updateauth");
    }

    /// Every `account::action` in the chain's blocks up to the head, decoded (what is on
    /// chain, independently of any node's synced data).
    pub fn actions_on_chain(&self, account: &'static str, action: &str) -> Vec<Value> {
        use chain::bytes::Unpack as _;
        let mut out = Vec::new();
        for num in 1..=self.head() {
            let record = self.handle.node.read_block(num).expect("block");
            let block = chain::ship::SignedBlock::unpacked(&record.block.0).expect("block");
            for ptrx in devchain::chain::packed_transactions(&block) {
                let trx = ptrx.transaction().expect("transaction");
                for act in trx.actions {
                    if act.account == n(account) && act.name == n(action) {
                        out.push(
                            self.abis[account]
                                .decode_action(act.name, &act.data.0)
                                .expect("decode"),
                        );
                    }
                }
            }
        }
        out
    }
}
