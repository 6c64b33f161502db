"""AccountAPING (the Accounts API) on the wire: every simpleType, dataType and operation of
AccountAPING.xml, in its order. The vendor operations' snake_case names (`client_id`, `access_token`...)
are the XML's own and are kept on the wire.

Departures for betfairlightweight (stream-identity-accounts.md §11.6 [EXT]): every StatementItem key is
required, and the StatementLegacyData keys its constructor requires are always emitted, as null when they
do not apply (required fields typed `X | None`).
"""

from __future__ import annotations

from typing import Any, Final, Literal

import msgspec

from .common import I32, I64, APINGException, Double, Instant, WireStruct
from .common import TimeRange as TimeRange  # re-exported: declared by AccountAPING.xml too

# --- simpleTypes -----------------------------------------------------------------------------------

SubscriptionStatus = Literal["ALL", "ACTIVATED", "UNACTIVATED", "CANCELLED", "EXPIRED"]
Status = Literal["SUCCESS"]
ItemClass = Literal["UNKNOWN"]
Wallet = Literal["UK", "AUSTRALIAN"]
IncludeItem = Literal["ALL", "EXCHANGE", "POKER_ROOM", "DEPOSITS_WITHDRAWALS"]
GrantType = Literal["AUTHORIZATION_CODE", "REFRESH_TOKEN"]
TokenType = Literal["BEARER"]
AffiliateRelationStatus = Literal["INVALID_USER", "AFFILIATED", "NOT_AFFILIATED"]

AccountAPINGExceptionCode = Literal[
    "INVALID_INPUT_DATA", "INVALID_SESSION_INFORMATION", "UNEXPECTED_ERROR", "INVALID_APP_KEY", "SERVICE_BUSY",
    "TIMEOUT_ERROR", "DUPLICATE_APP_NAME", "APP_KEY_CREATION_FAILED", "APP_CREATION_FAILED", "NO_SESSION",
    "NO_APP_KEY", "SUBSCRIPTION_EXPIRED", "INVALID_SUBSCRIPTION_TOKEN", "TOO_MANY_REQUESTS", "INVALID_CLIENT_REF",
    "WALLET_TRANSFER_ERROR", "INVALID_VENDOR_CLIENT_ID", "USER_NOT_SUBSCRIBED", "INVALID_SECRET",
    "INVALID_AUTH_CODE", "INVALID_GRANT_TYPE",
]


class AccountAPINGException(APINGException, kw_only=True):
    """Same body as APINGException; the JSON-RPC `exceptionname` differs (stream-identity-accounts.md §11.4)."""


# --- dataTypes -------------------------------------------------------------------------------------


class TransferResponse(WireStruct, kw_only=True):
    transaction_id: str


class AccountStatementReport(WireStruct, kw_only=True):
    account_statement: list[StatementItem]
    more_available: bool


class StatementItem(WireStruct, kw_only=True):
    """All seven keys required by betfairlightweight's AccountStatement."""

    ref_id: str
    item_date: Instant
    amount: Double
    balance: Double
    item_class: ItemClass
    item_class_data: dict[str, str]
    legacy_data: StatementLegacyData


class StatementLegacyData(WireStruct, kw_only=True):
    avg_price: Double | None
    bet_size: Double | None
    bet_type: str | None
    bet_category_type: str | None
    commission_rate: str | None = None
    event_id: I64 | None
    event_type_id: I64 | None
    full_market_name: str | None
    gross_bet_amount: Double | None
    market_name: str | None = None
    market_type: str | None
    placed_date: Instant | None
    selection_id: I64 | None
    selection_name: str | None = None
    start_date: Instant | None
    transaction_type: str | None
    transaction_id: I64 | None
    win_lose: str | None


class ApplicationSubscription(WireStruct, kw_only=True):
    subscription_token: str
    expiry_date_time: Instant | None = None
    expired_date_time: Instant | None = None
    created_date_time: Instant | None = None
    activation_date_time: Instant | None = None
    cancellation_date_time: Instant | None = None
    subscription_status: str | None = None
    client_reference: str | None = None
    vendor_client_id: str | None = None


class SubscriptionHistory(WireStruct, kw_only=True):
    subscription_token: str
    expiry_date_time: Instant | None = None
    expired_date_time: Instant | None = None
    created_date_time: Instant | None = None
    activation_date_time: Instant | None = None
    cancellation_date_time: Instant | None = None
    subscription_status: str | None = None
    client_reference: str | None = None


class AccountSubscription(WireStruct, kw_only=True):
    subscription_tokens: list[SubscriptionTokenInfo]
    application_name: str | None = None
    application_version_id: str | None = None


class SubscriptionTokenInfo(WireStruct, kw_only=True):
    subscription_token: str
    activated_date_time: Instant | None = None
    expiry_date_time: Instant | None = None
    expired_date_time: Instant | None = None
    cancellation_date_time: Instant | None = None
    subscription_status: str | None = None


class DeveloperApp(WireStruct, kw_only=True):
    app_name: str
    app_id: I64
    app_versions: list[DeveloperAppVersion]


class DeveloperAppVersion(WireStruct, kw_only=True):
    owner: str
    version_id: I64
    version: str
    application_key: str
    delay_data: bool | None = None
    subscription_required: bool
    owner_managed: bool
    active: bool
    vendor_id: str | None = None
    vendor_secret: str | None = None


class AccountFundsResponse(WireStruct, kw_only=True):
    available_to_bet_balance: Double | None = None
    exposure: Double | None = None
    retained_commission: Double | None = None
    exposure_limit: Double | None = None
    discount_rate: Double | None = None
    points_balance: I32 | None = None
    wallet: str | None = None


class AccountDetailsResponse(WireStruct, kw_only=True):
    currency_code: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    locale_code: str | None = None
    region: str | None = None
    timezone: str | None = None
    discount_rate: Double | None = None
    points_balance: I32 | None = None
    country_code: str | None = None


class CurrencyRate(WireStruct, kw_only=True):
    currency_code: str | None = None
    rate: Double | None = None


class AuthorisationResponse(WireStruct, kw_only=True):
    authorisation_code: str
    redirect_url: str


class SubscriptionOptions(WireStruct, kw_only=True):
    subscription_length: I32 | None = msgspec.field(name="subscription_length", default=None)
    subscription_token: str | None = msgspec.field(name="subscription_token", default=None)
    client_reference: str | None = msgspec.field(name="client_reference", default=None)


class VendorAccessTokenInfo(WireStruct, kw_only=True):
    access_token: str = msgspec.field(name="access_token")
    token_type: TokenType = msgspec.field(name="token_type")
    expires_in: I64 = msgspec.field(name="expires_in")
    refresh_token: str = msgspec.field(name="refresh_token")
    application_subscription: ApplicationSubscription = msgspec.field(name="application_subscription")


class VendorDetails(WireStruct, kw_only=True):
    app_version_id: I64
    vendor_name: str
    redirect_url: str | None = None


class AffiliateRelation(WireStruct, kw_only=True):
    vendor_client_id: str
    status: AffiliateRelationStatus


# --- operation parameters --------------------------------------------------------------------------


class CreateDeveloperAppKeysParams(WireStruct, kw_only=True):
    app_name: str


class GetDeveloperAppKeysParams(WireStruct, kw_only=True):
    pass


class GetAccountFundsParams(WireStruct, kw_only=True):
    wallet: Wallet | None = None


class TransferFundsParams(WireStruct, kw_only=True):
    from_: Wallet = msgspec.field(name="from")
    to: Wallet
    amount: Double


class GetAccountDetailsParams(WireStruct, kw_only=True):
    pass


class GetVendorClientIdParams(WireStruct, kw_only=True):
    pass


class GetApplicationSubscriptionTokenParams(WireStruct, kw_only=True):
    subscription_length: I32 | None = None
    client_reference: str | None = None


class ActivateApplicationSubscriptionParams(WireStruct, kw_only=True):
    subscription_token: str


class CancelApplicationSubscriptionParams(WireStruct, kw_only=True):
    subscription_token: str


class UpdateApplicationSubscriptionParams(WireStruct, kw_only=True):
    vendor_client_id: str
    subscription_length: I32


class ListApplicationSubscriptionTokensParams(WireStruct, kw_only=True):
    subscription_status: SubscriptionStatus | None = None


class ListAccountSubscriptionTokensParams(WireStruct, kw_only=True):
    pass


class GetApplicationSubscriptionHistoryParams(WireStruct, kw_only=True):
    vendor_client_id: str | None = None
    application_key: str | None = None


class GetAccountStatementParams(WireStruct, kw_only=True):
    locale: str | None = None
    from_record: I32 | None = None
    record_count: I32 | None = None
    item_date_range: TimeRange | None = None
    include_item: IncludeItem | None = None
    wallet: Wallet | None = None


class ListCurrencyRatesParams(WireStruct, kw_only=True):
    from_currency: str | None = None


class GetAuthorisationCodeParams(WireStruct, kw_only=True):
    vendor_id: str


class TokenParams(WireStruct, kw_only=True):
    client_id: str = msgspec.field(name="client_id")
    grant_type: GrantType = msgspec.field(name="grant_type")
    code: str | None = None
    client_secret: str = msgspec.field(name="client_secret")
    refresh_token: str | None = msgspec.field(name="refresh_token", default=None)


class GetVendorDetailsParams(WireStruct, kw_only=True):
    vendor_id: str


class RevokeAccessToWebAppParams(WireStruct, kw_only=True):
    vendor_id: I64


class ListAuthorizedWebAppsParams(WireStruct, kw_only=True):
    pass


class IsAccountSubscribedToWebAppParams(WireStruct, kw_only=True):
    vendor_id: str


class GetAffiliateRelationParams(WireStruct, kw_only=True):
    vendor_client_ids: list[str]


# --- registries ------------------------------------------------------------------------------------

PARAMS: Final[dict[str, type[WireStruct]]] = {
    "createDeveloperAppKeys": CreateDeveloperAppKeysParams,
    "getDeveloperAppKeys": GetDeveloperAppKeysParams,
    "getAccountFunds": GetAccountFundsParams,
    "transferFunds": TransferFundsParams,
    "getAccountDetails": GetAccountDetailsParams,
    "getVendorClientId": GetVendorClientIdParams,
    "getApplicationSubscriptionToken": GetApplicationSubscriptionTokenParams,
    "activateApplicationSubscription": ActivateApplicationSubscriptionParams,
    "cancelApplicationSubscription": CancelApplicationSubscriptionParams,
    "updateApplicationSubscription": UpdateApplicationSubscriptionParams,
    "listApplicationSubscriptionTokens": ListApplicationSubscriptionTokensParams,
    "listAccountSubscriptionTokens": ListAccountSubscriptionTokensParams,
    "getApplicationSubscriptionHistory": GetApplicationSubscriptionHistoryParams,
    "getAccountStatement": GetAccountStatementParams,
    "listCurrencyRates": ListCurrencyRatesParams,
    "getAuthorisationCode": GetAuthorisationCodeParams,
    "token": TokenParams,
    "getVendorDetails": GetVendorDetailsParams,
    "revokeAccessToWebApp": RevokeAccessToWebAppParams,
    "listAuthorizedWebApps": ListAuthorizedWebAppsParams,
    "isAccountSubscribedToWebApp": IsAccountSubscribedToWebAppParams,
    "getAffiliateRelation": GetAffiliateRelationParams,
}

RESULTS: Final[dict[str, Any]] = {
    "createDeveloperAppKeys": DeveloperApp,
    "getDeveloperAppKeys": list[DeveloperApp],
    "getAccountFunds": AccountFundsResponse,
    "transferFunds": TransferResponse,
    "getAccountDetails": AccountDetailsResponse,
    "getVendorClientId": str,
    "getApplicationSubscriptionToken": str,
    "activateApplicationSubscription": Status,
    "cancelApplicationSubscription": Status,
    "updateApplicationSubscription": str,
    "listApplicationSubscriptionTokens": list[ApplicationSubscription],
    "listAccountSubscriptionTokens": list[AccountSubscription],
    "getApplicationSubscriptionHistory": list[SubscriptionHistory],
    "getAccountStatement": AccountStatementReport,
    "listCurrencyRates": list[CurrencyRate],
    "getAuthorisationCode": AuthorisationResponse,
    "token": VendorAccessTokenInfo,
    "getVendorDetails": VendorDetails,
    "revokeAccessToWebApp": Status,
    "listAuthorizedWebApps": list[VendorDetails],
    "isAccountSubscribedToWebApp": bool,
    "getAffiliateRelation": list[AffiliateRelation],
}
