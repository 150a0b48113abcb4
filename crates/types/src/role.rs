//! Account types and role types (CloudStack's static role model).

use serde::{Deserialize, Serialize};

/// CloudStack account type ordinal (`accounttype` on the wire, `type` in `loginresponse`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AccountType {
    User,
    Admin,
    DomainAdmin,
    ResourceDomainAdmin,
}

impl AccountType {
    pub fn ordinal(self) -> i64 {
        match self {
            AccountType::User => 0,
            AccountType::Admin => 1,
            AccountType::DomainAdmin => 2,
            AccountType::ResourceDomainAdmin => 3,
        }
    }
    pub fn from_ordinal(v: i64) -> Option<Self> {
        match v {
            0 => Some(AccountType::User),
            1 => Some(AccountType::Admin),
            2 => Some(AccountType::DomainAdmin),
            3 => Some(AccountType::ResourceDomainAdmin),
            _ => None,
        }
    }
    pub fn role_type(self) -> RoleType {
        match self {
            AccountType::User => RoleType::User,
            AccountType::Admin => RoleType::Admin,
            AccountType::DomainAdmin => RoleType::DomainAdmin,
            AccountType::ResourceDomainAdmin => RoleType::ResourceAdmin,
        }
    }
}

/// Role types, ordered by privilege (`User` < `DomainAdmin` < `ResourceAdmin` < `Admin`), as
/// CloudStack compares them when one user manages another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RoleType {
    User,
    DomainAdmin,
    ResourceAdmin,
    Admin,
}

impl RoleType {
    pub const ALL: [RoleType; 4] = [
        RoleType::Admin,
        RoleType::ResourceAdmin,
        RoleType::DomainAdmin,
        RoleType::User,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RoleType::Admin => "Admin",
            RoleType::ResourceAdmin => "ResourceAdmin",
            RoleType::DomainAdmin => "DomainAdmin",
            RoleType::User => "User",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        RoleType::ALL.into_iter().find(|r| r.as_str().eq_ignore_ascii_case(s))
    }
    /// The account type an account with this role gets.
    pub fn account_type(self) -> AccountType {
        match self {
            RoleType::Admin => AccountType::Admin,
            RoleType::ResourceAdmin => AccountType::ResourceDomainAdmin,
            RoleType::DomainAdmin => AccountType::DomainAdmin,
            RoleType::User => AccountType::User,
        }
    }
    /// Admins of a domain subtree (domain and resource admins) or the whole cloud.
    pub fn is_domain_admin_or_above(self) -> bool {
        match self {
            RoleType::User => false,
            RoleType::DomainAdmin | RoleType::ResourceAdmin | RoleType::Admin => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn ordinals_round_trip_and_roles_are_ordered() {
        for v in 0..4 {
            let t = AccountType::from_ordinal(v).unwrap();
            assert_eq!(t.ordinal(), v);
            assert_eq!(t.role_type().account_type(), t);
        }
        assert!(AccountType::from_ordinal(7).is_none());
        assert!(RoleType::Admin > RoleType::DomainAdmin && RoleType::DomainAdmin > RoleType::User);
        assert_eq!(RoleType::parse("domainadmin"), Some(RoleType::DomainAdmin));
    }
}
