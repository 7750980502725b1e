//! Rules of the cooperative contracts that nodes, clients and the development chain must agree
//! on byte for byte: the registration hash and the council vote digest (chain.md §5, §6).

use crate::checksum::Checksum256;
use crate::name::Name;
use crate::time::TimePointSec;

/// `registration_hash = sha256(username)`: keys a candidate's payment and agenda item.
pub fn registration_hash(username: Name) -> Checksum256 {
    Checksum256::sha256(username.to_string())
}

/// Which way a council member votes; names the `soviet` action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VoteKind {
    For,
    Against,
}

impl VoteKind {
    /// The action name, which is also the digest's prefix.
    pub fn action(self) -> &'static str {
        match self {
            VoteKind::For => "votefor",
            VoteKind::Against => "voteagainst",
        }
    }
}

/// The digest a voter signs: `sha256("<votefor|voteagainst>:<coopname>:<decision_id>:<unix
/// seconds of signed_at>")`; the contract refuses a vote whose `signed_hash` differs.
pub fn vote_digest(
    kind: VoteKind,
    coopname: Name,
    decision_id: u64,
    signed_at: TimePointSec,
) -> Checksum256 {
    Checksum256::sha256(format!(
        "{}:{coopname}:{decision_id}:{}",
        kind.action(),
        signed_at.as_unix()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_follow_the_documented_text() {
        let coop = Name::parse("voskhod").unwrap();
        let at = TimePointSec::from_unix(1_739_448_000);
        assert_eq!(
            vote_digest(VoteKind::Against, coop, 7, at),
            Checksum256::sha256("voteagainst:voskhod:7:1739448000")
        );
        assert_ne!(
            vote_digest(VoteKind::For, coop, 7, at),
            vote_digest(VoteKind::Against, coop, 7, at)
        );
        assert_eq!(
            registration_hash(Name::parse("ant1").unwrap()),
            Checksum256::sha256("ant1")
        );
    }
}
