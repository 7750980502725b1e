//! Field validation of the input data: every requisite, contact and date is checked and all
//! problems are reported at once, each with the dotted path of its field.

use std::fmt;

use thiserror::Error;

use super::{
    BankAccount, BoardMember, Coop, DocumentData, FreeProject, OrganizationDetails, User, Vars,
};
use crate::clock::{Date, DateTime};
use crate::validate::{self, InnKind, Problem};

/// One invalid field.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{field}: {problem}")]
pub struct FieldError {
    /// Dotted path, e.g. `user.individual.phone`.
    pub field: String,
    pub problem: Problem,
}

/// All invalid fields of an input.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid data: ")?;
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                write!(f, "; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl ValidationErrors {
    /// Whether some error is about `field` (exact dotted path).
    pub fn has(&self, field: &str) -> bool {
        self.0.iter().any(|e| e.field == field)
    }
}

/// Collects field errors under a path prefix.
struct Checker {
    errors: Vec<FieldError>,
}

impl Checker {
    fn check(&mut self, field: String, res: Result<(), Problem>) {
        if let Err(problem) = res {
            self.errors.push(FieldError { field, problem });
        }
    }
}

const NAME_MAX: usize = 100;
const TEXT_MAX: usize = 500;
const LONG_TEXT_MAX: usize = 10_000;

fn iso_date(value: &str) -> Result<(), Problem> {
    Date::parse_iso(value).map(|_| ()).map_err(Problem::from)
}

fn digits_exact(value: &str, n: usize, what: &str) -> Result<(), Problem> {
    if value.len() == n && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(Problem::Other(format!("{what} must be {n} digits")))
    }
}

fn check_person(c: &mut Checker, p: &str, last: &str, first: &str, middle: &str) {
    c.check(format!("{p}.last_name"), validate::text(last, NAME_MAX));
    c.check(format!("{p}.first_name"), validate::text(first, NAME_MAX));
    c.check(
        format!("{p}.middle_name"),
        validate::optional_text(middle, NAME_MAX),
    );
}

fn check_board_member(c: &mut Checker, p: &str, m: &BoardMember) {
    c.check(format!("{p}.username"), validate::account_name(&m.username));
    check_person(c, p, &m.last_name, &m.first_name, &m.middle_name);
    c.check(
        format!("{p}.position"),
        validate::text(&m.position, NAME_MAX),
    );
}

fn check_contacts(c: &mut Checker, p: &str, phone: &str, email: &str) {
    c.check(format!("{p}.phone"), validate::phone(phone));
    c.check(format!("{p}.email"), validate::email(email));
}

fn check_org_details(c: &mut Checker, p: &str, d: &OrganizationDetails) {
    c.check(
        format!("{p}.inn"),
        validate::inn(&d.inn, InnKind::Organization),
    );
    c.check(format!("{p}.ogrn"), validate::ogrn(&d.ogrn));
    c.check(format!("{p}.kpp"), validate::kpp(&d.kpp));
}

fn check_bank(c: &mut Checker, p: &str, b: &BankAccount) {
    c.check(
        format!("{p}.bank_name"),
        validate::text(&b.bank_name, TEXT_MAX),
    );
    c.check(
        format!("{p}.currency"),
        match b.currency.as_str() {
            "RUB" => Ok(()),
            other => Err(Problem::NotOneOf {
                allowed: "RUB",
                got: other.to_owned(),
            }),
        },
    );
    c.check(format!("{p}.details.bik"), validate::bik(&b.details.bik));
    c.check(format!("{p}.details.kpp"), validate::kpp(&b.details.kpp));
    if validate::bik(&b.details.bik).is_ok() {
        c.check(
            format!("{p}.details.corr"),
            validate::correspondent_account(&b.details.corr, &b.details.bik),
        );
        c.check(
            format!("{p}.account_number"),
            validate::settlement_account(&b.account_number, &b.details.bik),
        );
    }
    if let Some(card) = &b.card_number {
        c.check(
            format!("{p}.card_number"),
            digits_exact(card, 16, "card number"),
        );
    }
}

fn check_one_of(value: &str, allowed: &'static str) -> Result<(), Problem> {
    if allowed.split('|').any(|a| a == value) {
        Ok(())
    } else {
        Err(Problem::NotOneOf {
            allowed,
            got: value.chars().take(40).collect(),
        })
    }
}

impl DocumentData {
    /// Checks every field; returns all problems found.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut c = Checker { errors: Vec::new() };
        self.coop.check(&mut c);
        self.vars.check(&mut c);
        self.user.check(&mut c);
        if let Some(b) = &self.branch {
            c.check("branch.braname".into(), validate::account_name(&b.braname));
            c.check(
                "branch.short_name".into(),
                validate::text(&b.short_name, TEXT_MAX),
            );
            c.check(
                "branch.full_name".into(),
                validate::text(&b.full_name, TEXT_MAX),
            );
            c.check(
                "branch.full_address".into(),
                validate::text(&b.full_address, TEXT_MAX),
            );
            check_contacts(&mut c, "branch", &b.phone, &b.email);
            check_board_member(&mut c, "branch.trustee", &b.trustee);
        }
        if let Some(d) = &self.decision {
            let date = Date::parse_iso(&d.date);
            c.check(
                "decision.date".into(),
                date.clone().map(|_| ()).map_err(Problem::from),
            );
            if let Ok(date) = date {
                c.check(
                    "decision.time".into(),
                    DateTime::on_date(date, &d.time)
                        .map(|_| ())
                        .map_err(Problem::from),
                );
            }
            let pct_ok = d.voters_percent.is_finite() && (0.0..=100.0).contains(&d.voters_percent);
            c.check(
                "decision.voters_percent".into(),
                if pct_ok {
                    Ok(())
                } else {
                    Err(Problem::Other("must be between 0 and 100".into()))
                },
            );
        }
        if let Some(p) = &self.project {
            c.check("project.id".into(), validate::text(&p.id, NAME_MAX));
            c.check(
                "project.question".into(),
                validate::text(&p.question, LONG_TEXT_MAX),
            );
            c.check(
                "project.decision".into(),
                validate::text(&p.decision, LONG_TEXT_MAX),
            );
        }
        if c.errors.is_empty() {
            Ok(())
        } else {
            Err(ValidationErrors(c.errors))
        }
    }
}

/// Runs one part's checks on its own (the tenant node validates private data when it is written).
fn run(f: impl FnOnce(&mut Checker)) -> Result<(), ValidationErrors> {
    let mut c = Checker { errors: Vec::new() };
    f(&mut c);
    if c.errors.is_empty() {
        Ok(())
    } else {
        Err(ValidationErrors(c.errors))
    }
}

impl User {
    /// Checks the member's fields (paths start with `user.`).
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        run(|c| self.check(c))
    }
}

impl Vars {
    /// Checks the cooperative's variables (paths start with `vars.`).
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        run(|c| self.check(c))
    }
}

impl BankAccount {
    /// Checks a bank account (paths start with `bank_account.`).
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        run(|c| check_bank(c, "bank_account", self))
    }
}

impl FreeProject {
    /// Checks a free-decision project (paths start with `project.`).
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        run(|c| {
            c.check("project.id".into(), validate::text(&self.id, NAME_MAX));
            c.check(
                "project.question".into(),
                validate::text(&self.question, LONG_TEXT_MAX),
            );
            c.check(
                "project.decision".into(),
                validate::text(&self.decision, LONG_TEXT_MAX),
            );
        })
    }
}

impl Coop {
    fn check(&self, c: &mut Checker) {
        c.check(
            "coop.coopname".into(),
            validate::account_name(&self.coopname),
        );
        c.check(
            "coop.short_name".into(),
            validate::text(&self.short_name, TEXT_MAX),
        );
        c.check(
            "coop.full_name".into(),
            validate::text(&self.full_name, TEXT_MAX),
        );
        c.check(
            "coop.full_address".into(),
            validate::text(&self.full_address, TEXT_MAX),
        );
        c.check(
            "coop.fact_address".into(),
            validate::text(&self.fact_address, TEXT_MAX),
        );
        check_contacts(c, "coop", &self.phone, &self.email);
        check_org_details(c, "coop.details", &self.details);
        check_bank(c, "coop.bank_account", &self.bank_account);
        check_board_member(c, "coop.board.chairman", &self.board.chairman);
        for (i, m) in self.board.members.iter().enumerate() {
            check_board_member(c, &format!("coop.board.members.{i}"), m);
        }
        let f = &self.fees;
        c.check(
            "coop.fees.registration".into(),
            validate::amount(&f.registration),
        );
        c.check("coop.fees.minimum".into(), validate::amount(&f.minimum));
        c.check(
            "coop.fees.org_registration".into(),
            validate::amount(&f.org_registration),
        );
        c.check(
            "coop.fees.org_minimum".into(),
            validate::amount(&f.org_minimum),
        );
    }
}

impl Vars {
    fn check(&self, c: &mut Checker) {
        c.check(
            "vars.coopname".into(),
            validate::account_name(&self.coopname),
        );
        for (field, value) in [
            ("full_abbr", &self.full_abbr),
            ("full_abbr_genitive", &self.full_abbr_genitive),
            ("full_abbr_dative", &self.full_abbr_dative),
            ("short_abbr", &self.short_abbr),
            ("name", &self.name),
            ("website", &self.website),
            ("confidential_link", &self.confidential_link),
        ] {
            c.check(format!("vars.{field}"), validate::text(value, TEXT_MAX));
        }
        c.check(
            "vars.confidential_email".into(),
            validate::email(&self.confidential_email),
        );
        c.check(
            "vars.contact_email".into(),
            validate::email(&self.contact_email),
        );
        c.check(
            "vars.passport_request".into(),
            check_one_of(&self.passport_request, "yes|no"),
        );
        for (field, a) in [
            ("wallet_agreement", &self.wallet_agreement),
            ("signature_agreement", &self.signature_agreement),
            ("privacy_agreement", &self.privacy_agreement),
            ("user_agreement", &self.user_agreement),
            ("participant_application", &self.participant_application),
        ] {
            c.check(
                format!("vars.{field}.protocol_number"),
                validate::text(&a.protocol_number, NAME_MAX),
            );
            c.check(
                format!("vars.{field}.protocol_day_month_year"),
                validate::text(&a.protocol_day_month_year, NAME_MAX),
            );
        }
    }
}

impl User {
    fn check(&self, c: &mut Checker) {
        match self {
            User::Individual(i) => {
                let p = "user.individual";
                check_person(c, p, &i.last_name, &i.first_name, &i.middle_name);
                c.check(format!("{p}.birthdate"), iso_date(&i.birthdate));
                c.check(
                    format!("{p}.full_address"),
                    validate::text(&i.full_address, TEXT_MAX),
                );
                check_contacts(c, p, &i.phone, &i.email);
                if let Some(pp) = &i.passport {
                    let p = "user.individual.passport";
                    c.check(format!("{p}.series"), digits_exact(&pp.series, 4, "series"));
                    c.check(format!("{p}.number"), digits_exact(&pp.number, 6, "number"));
                    c.check(
                        format!("{p}.issued_by"),
                        validate::text(&pp.issued_by, TEXT_MAX),
                    );
                    c.check(format!("{p}.issued_at"), iso_date(&pp.issued_at));
                    let code_ok = pp.code.len() == 7
                        && pp.code.as_bytes()[3] == b'-'
                        && pp.code.bytes().filter(u8::is_ascii_digit).count() == 6;
                    c.check(
                        format!("{p}.code"),
                        if code_ok {
                            Ok(())
                        } else {
                            Err(Problem::Other("subdivision code must be NNN-NNN".into()))
                        },
                    );
                }
            }
            User::Entrepreneur(e) => {
                let p = "user.entrepreneur";
                check_person(c, p, &e.last_name, &e.first_name, &e.middle_name);
                c.check(format!("{p}.birthdate"), iso_date(&e.birthdate));
                c.check(format!("{p}.country"), validate::text(&e.country, NAME_MAX));
                c.check(format!("{p}.city"), validate::text(&e.city, NAME_MAX));
                c.check(
                    format!("{p}.full_address"),
                    validate::text(&e.full_address, TEXT_MAX),
                );
                check_contacts(c, p, &e.phone, &e.email);
                c.check(
                    format!("{p}.details.inn"),
                    validate::inn(&e.details.inn, InnKind::Person),
                );
                c.check(
                    format!("{p}.details.ogrn"),
                    validate::ogrnip(&e.details.ogrn),
                );
                check_bank(c, &format!("{p}.bank_account"), &e.bank_account);
            }
            User::Organization(o) => {
                let p = "user.organization";
                c.check(
                    format!("{p}.type"),
                    check_one_of(&o.kind, "coop|prodcoop|ooo|oao|zao|pao|ao"),
                );
                c.check(
                    format!("{p}.short_name"),
                    validate::text(&o.short_name, TEXT_MAX),
                );
                c.check(
                    format!("{p}.full_name"),
                    validate::text(&o.full_name, TEXT_MAX),
                );
                let r = &o.represented_by;
                let rp = "user.organization.represented_by";
                check_person(c, rp, &r.last_name, &r.first_name, &r.middle_name);
                c.check(
                    format!("{rp}.position"),
                    validate::text(&r.position, NAME_MAX),
                );
                c.check(
                    format!("{rp}.based_on"),
                    validate::text(&r.based_on, TEXT_MAX),
                );
                c.check(format!("{p}.country"), validate::text(&o.country, NAME_MAX));
                c.check(format!("{p}.city"), validate::text(&o.city, NAME_MAX));
                c.check(
                    format!("{p}.full_address"),
                    validate::text(&o.full_address, TEXT_MAX),
                );
                c.check(
                    format!("{p}.fact_address"),
                    validate::text(&o.fact_address, TEXT_MAX),
                );
                check_contacts(c, p, &o.phone, &o.email);
                check_org_details(c, &format!("{p}.details"), &o.details);
                check_bank(c, &format!("{p}.bank_account"), &o.bank_account);
            }
        }
    }
}
