//! Authentication and roles (pure, no I/O): access tokens and refresh tokens ([`token`]),
//! signature login checks ([`login`]), login throttling ([`throttle`]), and the roles derived from the synced council.

pub mod login;
pub mod throttle;
pub mod token;

use chain::Name;

use crate::registry::Roles;

/// What a caller may do, derived from the council (`soviet::boards`), never stored by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, async_graphql::Enum)]
#[graphql(rename_items = "snake_case")]
pub enum Role {
    /// The council member whose position is `chairman`.
    Chairman,
    /// Any other member of the council.
    Member,
    /// Everyone else who can log in.
    User,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Chairman => "chairman",
            Role::Member => "member",
            Role::User => "user",
        }
    }
}

/// The role of `username` given the council's current composition.
pub fn role_of(username: Name, roles: &Roles) -> Role {
    if roles.chairman == Some(username) {
        Role::Chairman
    } else if roles.members.contains(&username) {
        Role::Member
    } else {
        Role::User
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_follow_the_council() {
        let n = |s: &str| Name::parse(s).unwrap();
        let roles = Roles {
            chairman: Some(n("chairman")),
            voting_members: vec![n("chairman"), n("member1")],
            members: vec![n("chairman"), n("member1"), n("observer")],
        };
        assert_eq!(role_of(n("chairman"), &roles), Role::Chairman);
        assert_eq!(role_of(n("member1"), &roles), Role::Member);
        assert_eq!(role_of(n("observer"), &roles), Role::Member);
        assert_eq!(role_of(n("alice"), &roles), Role::User);
        assert_eq!(role_of(n("alice"), &Roles::default()), Role::User);
    }
}
