//! The node's payments over GraphQL: registration and deposit orders (`createInitialPayment`,
//! `createDepositPayment`), `setPaymentStatus` (chairman or member, never on their own
//! payment; a registration turning PAID commits its chain intent), the list `getPaymentOrders`
//! (the on-chain `gateway` registry stays `getPayments`) and payment methods with ownership
//! checks. Each order carries the qrpay details: the ST00012 string and its QR code (PNG).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_graphql::{Context, Enum, InputObject, Object, Result, SimpleObject};
use base64::Engine as _;

use super::guard::{self, api, bad_input, internal, unavailable};
use super::query::parse_name;
use super::types::{time, PaginationInput};
use super::Api;
use crate::auth::Role as AuthRole;
use crate::db::payments::{Payment, PaymentFilter, PaymentMethod, PaymentsError};
use crate::paperwork::private::{AsOf, PrivateKind, PrivateRecord};
use crate::payments::method::{BankAccount, BankDetails, MethodData};
use crate::payments::qrpay::{self, Payee};
use crate::payments::{self, Caller, PaymentError, PaymentId, PaymentStatus, Role};

/// How long a new order stays PENDING.
const ORDER_TTL: Duration = Duration::from_secs(payments::DEFAULT_TTL_SECS);

/// A node payment's status (`PaymentStatus` is the on-chain gateway's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum PaymentOrderStatus {
    Pending,
    Paid,
    Completed,
    Failed,
    Expired,
    Refunded,
}

impl From<PaymentStatus> for PaymentOrderStatus {
    fn from(s: PaymentStatus) -> Self {
        match s {
            PaymentStatus::Pending => PaymentOrderStatus::Pending,
            PaymentStatus::Paid => PaymentOrderStatus::Paid,
            PaymentStatus::Completed => PaymentOrderStatus::Completed,
            PaymentStatus::Failed => PaymentOrderStatus::Failed,
            PaymentStatus::Expired => PaymentOrderStatus::Expired,
            PaymentStatus::Refunded => PaymentOrderStatus::Refunded,
        }
    }
}

impl From<PaymentOrderStatus> for PaymentStatus {
    fn from(s: PaymentOrderStatus) -> Self {
        match s {
            PaymentOrderStatus::Pending => PaymentStatus::Pending,
            PaymentOrderStatus::Paid => PaymentStatus::Paid,
            PaymentOrderStatus::Completed => PaymentStatus::Completed,
            PaymentOrderStatus::Failed => PaymentStatus::Failed,
            PaymentOrderStatus::Expired => PaymentStatus::Expired,
            PaymentOrderStatus::Refunded => PaymentStatus::Refunded,
        }
    }
}

/// How to pay an order with qrpay: the ST00012 string and its QR code. Fee and tolerance are 0.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct PaymentDetails {
    /// The ГОСТ Р 56042-2014 payment string.
    pub data: String,
    /// The QR code of `data` (PNG, base64).
    pub qr_png: String,
    pub amount_plus_fee: String,
    pub amount_without_fee: String,
    pub fee_amount: String,
    pub fee_percent: f64,
    pub fact_fee_percent: f64,
    pub tolerance_percent: f64,
}

/// A payment order of the node.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct PaymentOrder {
    pub id: String,
    /// The order number shown in payment documents.
    pub order_num: i64,
    pub username: String,
    /// `registration` or `deposit`.
    pub kind: String,
    pub provider: String,
    pub status: PaymentOrderStatus,
    /// `"400.0000 AXON"`.
    pub quantity: String,
    pub symbol: String,
    pub message: String,
    pub expired_at: String,
    pub created_at: String,
    pub updated_at: String,
    /// Present while the order is PENDING and the cooperative's bank details are stored.
    pub details: Option<PaymentDetails>,
}

#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "camelCase")]
pub struct PaymentOrdersPaginationResult {
    pub items: Vec<PaymentOrder>,
    pub current_page: i32,
    /// Whether a next page may exist (the page is full).
    pub has_more: bool,
}

/// Bank details (`BankAccount` of private data).
#[derive(Debug, Clone, InputObject, SimpleObject)]
#[graphql(
    input_name = "BankAccountInput",
    name = "BankAccountData",
    rename_fields = "snake_case"
)]
pub struct BankAccountData {
    pub account_number: String,
    pub bank_name: String,
    pub card_number: Option<String>,
    pub currency: String,
    pub details: BankDetailsData,
}

#[derive(Debug, Clone, InputObject, SimpleObject)]
#[graphql(
    input_name = "BankAccountDetailsInput",
    name = "BankAccountDetails",
    rename_fields = "snake_case"
)]
pub struct BankDetailsData {
    pub bik: String,
    pub corr: String,
    #[graphql(default)]
    pub kpp: String,
}

impl From<BankAccountData> for BankAccount {
    fn from(b: BankAccountData) -> Self {
        BankAccount {
            account_number: b.account_number,
            bank_name: b.bank_name,
            card_number: b.card_number,
            currency: b.currency,
            details: BankDetails {
                bik: b.details.bik,
                corr: b.details.corr,
                kpp: b.details.kpp,
            },
        }
    }
}

impl From<BankAccount> for BankAccountData {
    fn from(b: BankAccount) -> Self {
        BankAccountData {
            account_number: b.account_number,
            bank_name: b.bank_name,
            card_number: b.card_number,
            currency: b.currency,
            details: BankDetailsData {
                bik: b.details.bik,
                corr: b.details.corr,
                kpp: b.details.kpp,
            },
        }
    }
}

/// A payment method (`bank_account` for `bank_transfer`, `phone` for `sbp`).
#[derive(Debug, Clone, SimpleObject)]
#[graphql(name = "PaymentMethod", rename_fields = "snake_case")]
pub struct PaymentMethodOut {
    pub method_id: String,
    pub username: String,
    pub method_type: String,
    pub is_default: bool,
    pub bank_account: Option<BankAccountData>,
    pub phone: Option<String>,
}

impl From<PaymentMethod> for PaymentMethodOut {
    fn from(m: PaymentMethod) -> Self {
        let method_type = m.data.method_type().to_owned();
        let (bank_account, phone) = match m.data {
            MethodData::BankTransfer(b) => (Some(b.into()), None),
            MethodData::Sbp(s) => (None, Some(s.phone)),
        };
        PaymentMethodOut {
            method_id: m.method_id.to_string(),
            username: m.username.to_string(),
            method_type,
            is_default: m.is_default,
            bank_account,
            phone,
        }
    }
}

#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct CreateInitialPaymentInput {
    pub username: String,
}

#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct CreateDepositPaymentInput {
    pub username: String,
    /// `"100.0000 AXON"`: the cooperative's symbol and precision.
    pub quantity: String,
}

#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct SetPaymentStatusInput {
    pub id: String,
    pub status: PaymentOrderStatus,
    #[graphql(default)]
    pub message: String,
}

#[derive(Debug, Clone, Default, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct GetPaymentOrdersInput {
    pub id: Option<String>,
    pub username: Option<String>,
    pub status: Option<PaymentOrderStatus>,
}

#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct CreateBankAccountInput {
    pub username: String,
    pub is_default: bool,
    pub data: BankAccountData,
}

#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct UpdateBankAccountInput {
    pub method_id: String,
    pub username: String,
    pub is_default: bool,
    pub data: BankAccountData,
}

#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct DeletePaymentMethodInput {
    pub method_id: String,
    pub username: String,
}

#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct GetPaymentMethodsInput {
    pub username: String,
}

/// The payments domain's view of the authenticated caller.
async fn payer(ctx: &Context<'_>) -> Result<Caller> {
    let c = guard::caller(ctx).await?;
    Ok(Caller {
        username: c.username,
        role: match c.role {
            AuthRole::Chairman => Role::Chairman,
            AuthRole::Member => Role::Member,
            AuthRole::User => Role::User,
        },
    })
}

fn refused(e: PaymentsError) -> async_graphql::Error {
    match e {
        PaymentsError::Refused(PaymentError::Forbidden) => guard::forbidden(),
        PaymentsError::Refused(PaymentError::OwnPayment) => {
            guard::forbidden_because(PaymentError::OwnPayment.to_string())
        }
        PaymentsError::Refused(
            r @ (PaymentError::NotFound | PaymentError::MethodNotFound | PaymentError::NoPackage),
        ) => bad_input(r.to_string()),
        PaymentsError::Refused(r @ PaymentError::IllegalTransition { .. }) => {
            guard::conflict(r.to_string())
        }
        PaymentsError::Refused(PaymentError::NoCooperative) => {
            unavailable(PaymentError::NoCooperative.to_string())
        }
        PaymentsError::Refused(r) => bad_input(r.to_string()),
        PaymentsError::Db(e) => internal(e),
    }
}

fn iso(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    time(i64::try_from(secs).unwrap_or(i64::MAX))
}

/// The cooperative as payee: its organization data and its default `bank_transfer` method.
/// `None` while either is not stored.
async fn payee(api: &Api, caller: &Caller) -> Result<Option<Payee>> {
    let coop = api.coopname.to_string();
    let org = api
        .db
        .private_at(&PrivateKind::USER, &coop, AsOf::block(u32::MAX))
        .await
        .map_err(internal)?;
    let org = match org.map(|v| PrivateRecord::from_stored(&v)).transpose() {
        Ok(Some(PrivateRecord::User(documents::model::User::Organization(o)))) => o,
        Ok(_) => return Ok(None),
        Err(e) => return Err(internal(e)),
    };
    let methods = api
        .db
        .payment_methods(caller, api.coopname, api.coopname)
        .await
        .map_err(refused)?;
    let bank = methods.into_iter().find_map(|m| match m.data {
        MethodData::BankTransfer(b) if m.is_default => Some(b),
        _ => None,
    });
    Ok(bank.map(|bank| Payee {
        name: org.full_name,
        inn: org.details.inn,
        kpp: org.details.kpp,
        bank,
    }))
}

/// The answer for `p` alone (reads the payee when it is PENDING).
async fn order(api: &Api, caller: &Caller, p: Payment) -> Result<PaymentOrder> {
    let payee = if p.status == PaymentStatus::Pending {
        payee(api, caller).await?
    } else {
        None
    };
    order_with(p, payee.as_ref())
}

/// The answer for `p`, with qrpay details while it is PENDING and the payee is known.
fn order_with(p: Payment, payee: Option<&Payee>) -> Result<PaymentOrder> {
    let details = if p.status == PaymentStatus::Pending {
        match payee {
            Some(payee) => {
                let purpose = qrpay::purpose(p.kind, p.order_num);
                let data = qrpay::payment_string(payee, p.amount, &purpose)
                    .map_err(|e| bad_input(format!("the payment string cannot be made: {e}")))?;
                let (png, _) = qrpay::qr_png(&data).map_err(internal)?;
                let zero = chain::asset::Asset::new(0, p.amount.symbol);
                Some(PaymentDetails {
                    data,
                    qr_png: base64::engine::general_purpose::STANDARD.encode(png),
                    amount_plus_fee: p.amount.to_string(),
                    amount_without_fee: p.amount.to_string(),
                    fee_amount: zero.to_string(),
                    fee_percent: 0.0,
                    fact_fee_percent: 0.0,
                    tolerance_percent: 0.0,
                })
            }
            None => {
                tracing::warn!(
                    "No payment details: the cooperative's organization data or default bank \
                     account is not stored"
                );
                None
            }
        }
    } else {
        None
    };
    Ok(PaymentOrder {
        id: p.id.to_string(),
        order_num: p.order_num,
        username: p.username.to_string(),
        kind: p.kind.as_str().to_owned(),
        provider: p.provider,
        status: p.status.into(),
        quantity: p.amount.to_string(),
        symbol: p.amount.symbol.code().to_string(),
        message: p.message,
        expired_at: iso(p.expired_at),
        created_at: iso(p.created_at),
        updated_at: iso(p.updated_at),
        details,
    })
}

async fn cooperative(api: &Api) -> Result<crate::registry::Cooperative> {
    api.registry
        .cooperative(None)
        .await
        .map_err(internal)?
        .ok_or_else(|| unavailable(PaymentError::NoCooperative.to_string()))
}

fn method_id(text: &str) -> Result<i64> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| bad_input("method_id is not a payment method id"))
}

fn bank_transfer(data: BankAccountData) -> Result<MethodData> {
    let data = MethodData::BankTransfer(data.into());
    data.validate().map_err(|e| bad_input(e.to_string()))?;
    Ok(data)
}

/// Payment reads.
#[derive(Debug, Default)]
pub struct PaymentsQuery;

#[Object]
impl PaymentsQuery {
    /// The node's payment orders, newest first: a user sees only their own, the chairman and
    /// members everyone's.
    async fn get_payment_orders(
        &self,
        ctx: &Context<'_>,
        data: Option<GetPaymentOrdersInput>,
        #[graphql(default)] options: PaginationInput,
    ) -> Result<PaymentOrdersPaginationResult> {
        let caller = payer(ctx).await?;
        let api = api(ctx);
        let data = data.unwrap_or_default();
        let items = if let Some(id) = data.id.as_deref() {
            let id = PaymentId::parse(id).map_err(|e| bad_input(e.to_string()))?;
            match api.db.payment(&caller, &id).await {
                Ok(p) => vec![p],
                Err(PaymentsError::Refused(PaymentError::NotFound)) => Vec::new(),
                Err(e) => return Err(refused(e)),
            }
        } else {
            let filter = PaymentFilter {
                username: data
                    .username
                    .as_deref()
                    .map(|u| parse_name("username", u))
                    .transpose()?,
                status: data.status.map(Into::into),
                limit: i64::from(options.limit),
                offset: options.offset(),
            };
            api.db.payments(&caller, &filter).await.map_err(refused)?
        };
        let has_more = items.len() as i64 == i64::from(options.limit);
        let payee = if items.iter().any(|p| p.status == PaymentStatus::Pending) {
            payee(api, &caller).await?
        } else {
            None
        };
        let out = items
            .into_iter()
            .map(|p| order_with(p, payee.as_ref()))
            .collect::<Result<Vec<_>>>()?;
        Ok(PaymentOrdersPaginationResult {
            items: out,
            current_page: options.page,
            has_more,
        })
    }

    /// The payment methods of `username` (the owner, the chairman; everyone reads the
    /// cooperative's own).
    async fn get_payment_methods(
        &self,
        ctx: &Context<'_>,
        data: GetPaymentMethodsInput,
    ) -> Result<Vec<PaymentMethodOut>> {
        let caller = payer(ctx).await?;
        let api = api(ctx);
        let owner = parse_name("username", &data.username)?;
        let methods = api
            .db
            .payment_methods(&caller, owner, api.coopname)
            .await
            .map_err(refused)?;
        Ok(methods.into_iter().map(Into::into).collect())
    }
}

/// Payment writes.
#[derive(Debug, Default)]
pub struct PaymentsMutation;

#[Object]
impl PaymentsMutation {
    /// The registration order (entrance + minimum share fee from the fees on chain; the
    /// organization fees for organizations). The live order is returned when one exists.
    async fn create_initial_payment(
        &self,
        ctx: &Context<'_>,
        data: CreateInitialPaymentInput,
    ) -> Result<PaymentOrder> {
        let caller = payer(ctx).await?;
        let api = api(ctx);
        let username = parse_name("username", &data.username)?;
        let coop = cooperative(api).await?;
        let p = api
            .db
            .create_initial_payment(&caller, &coop, username, ORDER_TTL)
            .await
            .map_err(refused)?;
        order(api, &caller, p).await
    }

    /// A share deposit order of `quantity`.
    async fn create_deposit_payment(
        &self,
        ctx: &Context<'_>,
        data: CreateDepositPaymentInput,
    ) -> Result<PaymentOrder> {
        let caller = payer(ctx).await?;
        let api = api(ctx);
        let username = parse_name("username", &data.username)?;
        let coop = cooperative(api).await?;
        let p = api
            .db
            .create_deposit_payment(&caller, &coop, username, &data.quantity, ORDER_TTL)
            .await
            .map_err(refused)?;
        order(api, &caller, p).await
    }

    /// Sets a payment's status (chairman or member, never on their own payment). PAID on a
    /// registration commits its chain intent; the outbox sends it exactly once.
    async fn set_payment_status(
        &self,
        ctx: &Context<'_>,
        data: SetPaymentStatusInput,
    ) -> Result<PaymentOrder> {
        let caller = payer(ctx).await?;
        let api = api(ctx);
        let id = PaymentId::parse(&data.id).map_err(|e| bad_input(e.to_string()))?;
        let change = api
            .db
            .set_payment_status(&caller, &id, data.status.into(), &data.message)
            .await
            .map_err(refused)?;
        if change.changed {
            tracing::info!(payment = %id, status = %change.payment.status, by = %caller.username,
                intent = change.intent_created, "Payment status set");
        }
        order(api, &caller, change.payment).await
    }

    /// Adds a bank account of `username` (the owner; the cooperative's: the chairman).
    async fn create_bank_account(
        &self,
        ctx: &Context<'_>,
        data: CreateBankAccountInput,
    ) -> Result<PaymentMethodOut> {
        let caller = payer(ctx).await?;
        let api = api(ctx);
        let owner = parse_name("username", &data.username)?;
        let method = bank_transfer(data.data)?;
        Ok(api
            .db
            .create_payment_method(&caller, owner, api.coopname, &method, data.is_default)
            .await
            .map_err(refused)?
            .into())
    }

    /// Replaces a bank account of `username` (same rules as creating).
    async fn update_bank_account(
        &self,
        ctx: &Context<'_>,
        data: UpdateBankAccountInput,
    ) -> Result<PaymentMethodOut> {
        let caller = payer(ctx).await?;
        let api = api(ctx);
        let owner = parse_name("username", &data.username)?;
        let id = method_id(&data.method_id)?;
        let method = bank_transfer(data.data)?;
        Ok(api
            .db
            .update_payment_method(&caller, owner, api.coopname, id, &method, data.is_default)
            .await
            .map_err(refused)?
            .into())
    }

    /// Deletes a payment method of `username` (same rules as creating).
    async fn delete_payment_method(
        &self,
        ctx: &Context<'_>,
        data: DeletePaymentMethodInput,
    ) -> Result<bool> {
        let caller = payer(ctx).await?;
        let api = api(ctx);
        let owner = parse_name("username", &data.username)?;
        let id = method_id(&data.method_id)?;
        api.db
            .delete_payment_method(&caller, owner, api.coopname, id)
            .await
            .map_err(refused)?;
        Ok(true)
    }
}
