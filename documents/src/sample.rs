//! Sample inputs with valid (fictitious) requisites: a cooperative "Восход", its variables, a
//! member of each account type, a branch, a decision, a project and a drawn signature PNG.
//! Used by template previews, the examples, the benchmark and the tests.

use serde_json::Value;

use crate::image::{crc32, SignatureImage, PNG_MAGIC};
use crate::meta::MetaInput;
use crate::model::{
    AccountType, AgreementVar, BankAccount, BankDetails, Board, BoardMember, Branch, Coop,
    Decision, DocumentData, Entrepreneur, EntrepreneurDetails, Fees, FreeProject, Individual,
    Organization, OrganizationDetails, Passport, RepresentedBy, User, Vars,
};

fn bank(account: &str) -> BankAccount {
    BankAccount {
        account_number: account.into(),
        bank_name: "ПАО Сбербанк".into(),
        card_number: None,
        currency: "RUB".into(),
        details: BankDetails {
            bik: "044525225".into(),
            corr: "30101810400000000225".into(),
            kpp: "773601001".into(),
        },
    }
}

fn member(username: &str, last: &str, first: &str, middle: &str, position: &str) -> BoardMember {
    BoardMember {
        username: username.into(),
        last_name: last.into(),
        first_name: first.into(),
        middle_name: middle.into(),
        position: position.into(),
    }
}

/// The sample cooperative (not branched).
pub fn coop() -> Coop {
    Coop {
        coopname: "voskhod".into(),
        short_name: "ПК «Восход»".into(),
        full_name: "Потребительский кооператив «Восход»".into(),
        full_address: "119034, г. Москва, ул. Пречистенка, д. 10, пом. 3".into(),
        fact_address: "119034, г. Москва, ул. Пречистенка, д. 10, пом. 3".into(),
        phone: "+7 (495) 123-45-67".into(),
        email: "info@voskhod.coop".into(),
        details: OrganizationDetails {
            inn: "7735123450".into(),
            ogrn: "1027700123450".into(),
            kpp: "773501001".into(),
        },
        bank_account: bank("40703810603800012345"),
        board: Board {
            chairman: member(
                "chairmanvsk",
                "Соколова",
                "Мария",
                "Андреевна",
                "Председатель совета",
            ),
            members: vec![
                member(
                    "petrovsk1",
                    "Петров",
                    "Алексей",
                    "Николаевич",
                    "Член совета",
                ),
                member(
                    "orlovavsk1",
                    "Орлова",
                    "Екатерина",
                    "Сергеевна",
                    "Член совета",
                ),
            ],
        },
        fees: Fees {
            registration: "1000.0000 RUB".into(),
            minimum: "300.0000 RUB".into(),
            org_registration: "10000.0000 RUB".into(),
            org_minimum: "3000.0000 RUB".into(),
        },
        is_branched: false,
    }
}

fn agreement(number: &str) -> AgreementVar {
    AgreementVar {
        protocol_number: number.into(),
        protocol_day_month_year: "15 января 2025 г.".into(),
    }
}

/// The sample cooperative's variables.
pub fn vars() -> Vars {
    Vars {
        coopname: "voskhod".into(),
        full_abbr: "Потребительский кооператив".into(),
        full_abbr_genitive: "Потребительского кооператива".into(),
        full_abbr_dative: "Потребительскому кооперативу".into(),
        short_abbr: "ПК".into(),
        website: "voskhod.coop".into(),
        name: "Восход".into(),
        confidential_link: "voskhod.coop/privacy".into(),
        confidential_email: "privacy@voskhod.coop".into(),
        contact_email: "info@voskhod.coop".into(),
        passport_request: "no".into(),
        wallet_agreement: agreement("СС-01/2025"),
        signature_agreement: agreement("СС-02/2025"),
        privacy_agreement: agreement("СС-03/2025"),
        user_agreement: agreement("СС-04/2025"),
        participant_application: agreement("СС-05/2025"),
        coopenomics_agreement: None,
    }
}

/// A member of the given type.
pub fn user(kind: AccountType) -> User {
    match kind {
        AccountType::Individual => User::Individual(Individual {
            last_name: "Иванов".into(),
            first_name: "Иван".into(),
            middle_name: "Иванович".into(),
            birthdate: "1985-04-12".into(),
            full_address: "142100, Московская обл., г. Подольск, ул. Ленина, д. 5, кв. 12".into(),
            phone: "+7 (912) 345-67-89".into(),
            email: "ivanov@example.ru".into(),
            passport: Some(Passport {
                series: "4510".into(),
                number: "123456".into(),
                issued_by: "ОВД района Хамовники г. Москвы".into(),
                issued_at: "2010-06-01".into(),
                code: "770-001".into(),
            }),
        }),
        AccountType::Entrepreneur => User::Entrepreneur(Entrepreneur {
            last_name: "Смирнова".into(),
            first_name: "Ольга".into(),
            middle_name: "Петровна".into(),
            birthdate: "1979-11-03".into(),
            country: "Россия".into(),
            city: "Москва".into(),
            full_address: "125009, г. Москва, ул. Тверская, д. 7, кв. 40".into(),
            phone: "+7 (903) 111-22-33".into(),
            email: "smirnova@example.ru".into(),
            details: EntrepreneurDetails {
                inn: "770123456703".into(),
                ogrn: "318774600123452".into(),
            },
            bank_account: bank("40802810703800067890"),
        }),
        AccountType::Organization => User::Organization(Organization {
            kind: "ooo".into(),
            short_name: "ООО «Зерно»".into(),
            full_name: "Общество с ограниченной ответственностью «Зерно»".into(),
            represented_by: RepresentedBy {
                last_name: "Кузнецов".into(),
                first_name: "Дмитрий".into(),
                middle_name: "Олегович".into(),
                position: "Генеральный директор".into(),
                based_on: "Устава".into(),
            },
            country: "Россия".into(),
            city: "Коломна".into(),
            full_address: "140400, Московская обл., г. Коломна, ул. Октябрьской революции, д. 1"
                .into(),
            fact_address: "140400, Московская обл., г. Коломна, ул. Октябрьской революции, д. 1"
                .into(),
            phone: "+7 (496) 612-00-00".into(),
            email: "office@zerno.example.ru".into(),
            details: OrganizationDetails {
                inn: "5007123459".into(),
                ogrn: "1155000123453".into(),
                kpp: "502201001".into(),
            },
            bank_account: bank("40702810903800054321"),
        }),
    }
}

/// A branch of the sample cooperative.
pub fn branch() -> Branch {
    Branch {
        braname: "vskpodolsk".into(),
        short_name: "КУ «Подольск»".into(),
        full_name: "Кооперативный участок «Подольск» ПК «Восход»".into(),
        full_address: "142100, Московская обл., г. Подольск, ул. Кирова, д. 2".into(),
        phone: "+7 (4967) 55-66-77".into(),
        email: "podolsk@voskhod.coop".into(),
        trustee: member(
            "trusteepdl",
            "Васильев",
            "Павел",
            "Игоревич",
            "Председатель участка",
        ),
    }
}

/// A council decision.
pub fn decision() -> Decision {
    Decision {
        id: 42,
        date: "2025-02-03".into(),
        time: "18:00".into(),
        votes_for: 3,
        votes_against: 0,
        votes_abstained: 0,
        voters_percent: 100.0,
    }
}

/// A free-decision project.
pub fn project() -> FreeProject {
    FreeProject {
        id: "6f1c2a7e-3b1d-4d2a-9b7e-1c2d3e4f5a6b".into(),
        question: "Об открытии пункта выдачи заказов в г. Подольске".into(),
        decision: "Открыть пункт выдачи заказов пайщикам по адресу: г. Подольск, ул. Кирова, \
                   д. 2; поручить председателю совета заключить договор аренды помещения."
            .into(),
    }
}

/// Data with every part present (templates use what they need).
pub fn data(kind: AccountType) -> DocumentData {
    DocumentData {
        coop: coop(),
        vars: vars(),
        user: user(kind),
        branch: Some(branch()),
        decision: Some(decision()),
        project: Some(project()),
        signature: Some(signature()),
    }
}

/// The registry ids with templates.
pub const REGISTRY_IDS: [u32; 9] = [1, 2, 3, 4, 100, 101, 501, 599, 600];

/// The account name of the sample member of each type.
pub fn username(kind: AccountType) -> &'static str {
    match kind {
        AccountType::Individual => "ivanov.ii",
        AccountType::Entrepreneur => "smirnova.op",
        AccountType::Organization => "zerno.kolom",
    }
}

/// Meta input for a registry id with the extra keys it needs (matching [`data`]), a fixed
/// `created_at` (01.02.2025 10:30 Moscow time) and `block_num`.
pub fn meta_input(registry_id: u32, kind: AccountType) -> MetaInput {
    let mut input = MetaInput {
        coopname: "voskhod".into(),
        username: username(kind).into(),
        block_num: 1_234_567,
        created_at: Some("01.02.2025 10:30".into()),
        ..MetaInput::default()
    };
    let extra = &mut input.extra;
    match registry_id {
        100 => {
            extra.insert("skip_save".into(), Value::Bool(false));
        }
        101 => {
            extra.insert("braname".into(), Value::from(branch().braname));
        }
        501 => {
            extra.insert("decision_id".into(), Value::from(decision().id));
        }
        599 => {
            extra.insert("project_id".into(), Value::from(project().id));
        }
        600 => {
            extra.insert("decision_id".into(), Value::from(decision().id));
            extra.insert("project_id".into(), Value::from(project().id));
        }
        _ => {}
    }
    input
}

/// A drawn signature: an opaque 8-bit greyscale PNG (300x100) with a pen stroke.
pub fn signature() -> SignatureImage {
    match SignatureImage::from_bytes(signature_png(300, 100)) {
        Ok(image) => image,
        // The encoder below always yields a valid PNG of allowed size.
        Err(e) => unreachable!("sample signature is invalid: {e}"),
    }
}

/// Encodes a greyscale signature-like stroke as a PNG (stored deflate blocks, no compression).
pub fn signature_png(width: u32, height: u32) -> Vec<u8> {
    let (w, h) = (width as usize, height as usize);
    let mut pixels = vec![255u8; w * h];
    let mut plot = |x: f64, y: f64| {
        for dy in -1i64..=1 {
            for dx in -1i64..=1 {
                let (px, py) = (x as i64 + dx, y as i64 + dy);
                if px >= 0 && py >= 0 && (px as usize) < w && (py as usize) < h {
                    pixels[py as usize * w + px as usize] = 20;
                }
            }
        }
    };
    let (wf, hf) = (width as f64, height as f64);
    for step in 0..4000 {
        let t = step as f64 / 4000.0;
        let x = wf * (0.08 + 0.84 * t);
        let y = hf * (0.5 + 0.3 * (t * 19.0).sin() * (1.0 - t * 0.6) - 0.1 * (t * 5.0).cos());
        plot(x, y);
    }
    for step in 0..600 {
        let t = step as f64 / 600.0;
        plot(wf * (0.15 + 0.7 * t), hf * (0.85 - 0.05 * t));
    }
    let mut raw = Vec::with_capacity((w + 1) * h);
    for row in pixels.chunks(w.max(1)) {
        raw.push(0); // filter: none
        raw.extend_from_slice(row);
    }
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]); // 8-bit greyscale
    let mut png = PNG_MAGIC.to_vec();
    push_chunk(&mut png, b"IHDR", &ihdr);
    push_chunk(&mut png, b"IDAT", &zlib_stored(&raw));
    push_chunk(&mut png, b"IEND", &[]);
    png
}

fn push_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc32(&[kind, data]).to_be_bytes());
}

/// A zlib stream of stored (uncompressed) deflate blocks.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let mut blocks = data.chunks(65_535).peekable();
    if blocks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xFF, 0xFF]);
    }
    while let Some(block) = blocks.next() {
        out.push(u8::from(blocks.peek().is_none()));
        let len = block.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    out.extend_from_slice(&((b << 16) | a).to_be_bytes());
    out
}
