//! Input data of the documents (serde): the cooperative, the member (exactly one of individual,
//! entrepreneur, organization; fields per mono-api.md §8), the cooperative's variables
//! (documents.md §3), a branch, a council decision, a free-decision project and the handwritten
//! signature image.
//!
//! The tenant node supplies these as of the document's `block_num`; this crate only checks
//! and renders them. [`DocumentData::validate`] ([`check`]) reports every invalid field at
//! once.

pub mod check;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::image::SignatureImage;

/// Everything a template may read besides meta. Which parts are required depends on the
/// template (its JSON Schema, [`crate::registry::Template::schema`], and its meta keys).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentData {
    pub coop: Coop,
    pub vars: Vars,
    pub user: User,
    #[serde(default)]
    pub branch: Option<Branch>,
    #[serde(default)]
    pub decision: Option<Decision>,
    #[serde(default)]
    pub project: Option<FreeProject>,
    /// The handwritten signature (registry 100 only). Never goes into meta.
    #[serde(default)]
    pub signature: Option<SignatureImage>,
}

/// The cooperative (an organization plus its registrator row and board).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Coop {
    /// Chain account name of the cooperative.
    pub coopname: String,
    pub short_name: String,
    pub full_name: String,
    /// Legal address.
    pub full_address: String,
    /// Actual (postal) address.
    pub fact_address: String,
    pub phone: String,
    pub email: String,
    pub details: OrganizationDetails,
    pub bank_account: BankAccount,
    pub board: Board,
    pub fees: Fees,
    /// Whether the cooperative works through branches (members delegate to a branch).
    pub is_branched: bool,
}

/// The council.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Board {
    pub chairman: BoardMember,
    /// The other council members.
    pub members: Vec<BoardMember>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoardMember {
    pub username: String,
    pub last_name: String,
    pub first_name: String,
    pub middle_name: String,
    /// Position title, e.g. "Председатель совета", "Член совета".
    pub position: String,
}

/// Fees as chain assets (`"100.0000 RUB"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fees {
    /// Entrance fee for persons and entrepreneurs.
    pub registration: String,
    /// Minimum share contribution for persons and entrepreneurs.
    pub minimum: String,
    /// Entrance fee for organizations.
    pub org_registration: String,
    /// Minimum share contribution for organizations.
    pub org_minimum: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganizationDetails {
    pub inn: String,
    pub ogrn: String,
    pub kpp: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntrepreneurDetails {
    pub inn: String,
    /// OGRNIP (15 digits).
    pub ogrn: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BankAccount {
    /// Settlement account (20 digits).
    pub account_number: String,
    pub bank_name: String,
    #[serde(default)]
    pub card_number: Option<String>,
    /// Currency code, e.g. "RUB".
    pub currency: String,
    pub details: BankDetails,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BankDetails {
    pub bik: String,
    /// Correspondent account (20 digits).
    pub corr: String,
    /// The bank's KPP.
    pub kpp: String,
}

/// Passport of a person: series and number as digit strings (leading zeros matter).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Passport {
    /// 4 digits.
    pub series: String,
    /// 6 digits.
    pub number: String,
    pub issued_by: String,
    /// `YYYY-MM-DD`.
    pub issued_at: String,
    /// Subdivision code `NNN-NNN`.
    pub code: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Individual {
    pub last_name: String,
    pub first_name: String,
    /// Patronymic; may be empty.
    pub middle_name: String,
    /// `YYYY-MM-DD`.
    pub birthdate: String,
    pub full_address: String,
    pub phone: String,
    pub email: String,
    #[serde(default)]
    pub passport: Option<Passport>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entrepreneur {
    pub last_name: String,
    pub first_name: String,
    pub middle_name: String,
    /// `YYYY-MM-DD`.
    pub birthdate: String,
    pub country: String,
    pub city: String,
    pub full_address: String,
    pub phone: String,
    pub email: String,
    pub details: EntrepreneurDetails,
    pub bank_account: BankAccount,
}

/// Who signs for an organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepresentedBy {
    pub last_name: String,
    pub first_name: String,
    pub middle_name: String,
    pub position: String,
    /// The authority, e.g. "Устава".
    pub based_on: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organization {
    /// coop | prodcoop | ooo | oao | zao | pao | ao
    #[serde(rename = "type")]
    pub kind: String,
    pub short_name: String,
    pub full_name: String,
    pub represented_by: RepresentedBy,
    pub country: String,
    pub city: String,
    pub full_address: String,
    pub fact_address: String,
    pub phone: String,
    pub email: String,
    pub details: OrganizationDetails,
    pub bank_account: BankAccount,
}

/// The member: exactly one of the three account types. In JSON an object with exactly one of
/// the keys `individual`, `entrepreneur`, `organization` (the others absent or null).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "UserRepr", into = "UserRepr")]
pub enum User {
    Individual(Individual),
    Entrepreneur(Entrepreneur),
    Organization(Organization),
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserRepr {
    #[serde(default)]
    individual: Option<Individual>,
    #[serde(default)]
    entrepreneur: Option<Entrepreneur>,
    #[serde(default)]
    organization: Option<Organization>,
}

/// A user object with none or several of the account types.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("user must have exactly one of individual, entrepreneur, organization; found {found}")]
pub struct UserShapeError {
    pub found: String,
}

impl TryFrom<UserRepr> for User {
    type Error = UserShapeError;
    fn try_from(r: UserRepr) -> Result<User, UserShapeError> {
        match (r.individual, r.entrepreneur, r.organization) {
            (Some(i), None, None) => Ok(User::Individual(i)),
            (None, Some(e), None) => Ok(User::Entrepreneur(e)),
            (None, None, Some(o)) => Ok(User::Organization(o)),
            (i, e, o) => {
                let names: Vec<&str> = [
                    i.map(|_| "individual"),
                    e.map(|_| "entrepreneur"),
                    o.map(|_| "organization"),
                ]
                .into_iter()
                .flatten()
                .collect();
                let found = if names.is_empty() {
                    "none".to_owned()
                } else {
                    names.join(", ")
                };
                Err(UserShapeError { found })
            }
        }
    }
}

impl From<User> for UserRepr {
    fn from(user: User) -> UserRepr {
        let mut r = UserRepr {
            individual: None,
            entrepreneur: None,
            organization: None,
        };
        match user {
            User::Individual(i) => r.individual = Some(i),
            User::Entrepreneur(e) => r.entrepreneur = Some(e),
            User::Organization(o) => r.organization = Some(o),
        }
        r
    }
}

/// The account type, as meta and the templates name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountType {
    Individual,
    Entrepreneur,
    Organization,
}

impl AccountType {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountType::Individual => "individual",
            AccountType::Entrepreneur => "entrepreneur",
            AccountType::Organization => "organization",
        }
    }
}

/// `Last First Middle` without a trailing space when the patronymic is empty.
pub fn full_person_name(last: &str, first: &str, middle: &str) -> String {
    [last, first, middle]
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

impl User {
    pub fn account_type(&self) -> AccountType {
        match self {
            User::Individual(_) => AccountType::Individual,
            User::Entrepreneur(_) => AccountType::Entrepreneur,
            User::Organization(_) => AccountType::Organization,
        }
    }

    /// The name documents print for the member: a person's full name, "ИП" + name for an
    /// entrepreneur, the organization's short name.
    pub fn display_name(&self) -> String {
        match self {
            User::Individual(i) => full_person_name(&i.last_name, &i.first_name, &i.middle_name),
            User::Entrepreneur(e) => format!(
                "ИП {}",
                full_person_name(&e.last_name, &e.first_name, &e.middle_name)
            ),
            User::Organization(o) => o.short_name.clone(),
        }
    }

    /// The person who signs: the member or the organization's representative.
    pub fn signer_name(&self) -> String {
        match self {
            User::Individual(i) => full_person_name(&i.last_name, &i.first_name, &i.middle_name),
            User::Entrepreneur(e) => full_person_name(&e.last_name, &e.first_name, &e.middle_name),
            User::Organization(o) => {
                let r = &o.represented_by;
                full_person_name(&r.last_name, &r.first_name, &r.middle_name)
            }
        }
    }
}

/// Agreement protocol reference in vars.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgreementVar {
    pub protocol_number: String,
    pub protocol_day_month_year: String,
}

/// The cooperative's document variables (documents.md §3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vars {
    pub coopname: String,
    /// e.g. "Потребительский кооператив".
    pub full_abbr: String,
    pub full_abbr_genitive: String,
    pub full_abbr_dative: String,
    /// e.g. "ПК".
    pub short_abbr: String,
    pub website: String,
    /// The cooperative's name without the legal form, e.g. "Восход".
    pub name: String,
    pub confidential_link: String,
    pub confidential_email: String,
    pub contact_email: String,
    /// "yes" or "no": whether the application asks for passport data.
    pub passport_request: String,
    pub wallet_agreement: AgreementVar,
    pub signature_agreement: AgreementVar,
    pub privacy_agreement: AgreementVar,
    pub user_agreement: AgreementVar,
    pub participant_application: AgreementVar,
    #[serde(default)]
    pub coopenomics_agreement: Option<AgreementVar>,
}

/// A cooperative branch (кооперативный участок).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Branch {
    /// Chain account name of the branch.
    pub braname: String,
    pub short_name: String,
    pub full_name: String,
    pub full_address: String,
    pub phone: String,
    pub email: String,
    /// The branch chairman (trustee).
    pub trustee: BoardMember,
}

/// A council decision with its vote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    pub id: u64,
    /// `YYYY-MM-DD`.
    pub date: String,
    /// `HH:MM`.
    pub time: String,
    pub votes_for: u32,
    pub votes_against: u32,
    pub votes_abstained: u32,
    /// Share of the council that voted, 0–100.
    pub voters_percent: f64,
}

/// A free-decision project: the question put to the council and the proposed decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FreeProject {
    pub id: String,
    pub question: String,
    pub decision: String,
}
