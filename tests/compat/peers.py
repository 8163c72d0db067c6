"""One adapter per peer library, each calling the simulator the way that library ships.

Every adapter points every host the library knows at the simulator's URL, so nothing can
reach KuCoin's real site (``conftest.loopback_only`` fails a test that tries). A failed call
raises ``PeerError`` with KuCoin's body code, read from whatever the library raised.
"""

from __future__ import annotations

import re
from typing import Any

import ccxt
import kucoin.client
from kucoin_universal_sdk.api import DefaultClient
from kucoin_universal_sdk.generate.account.account.model_get_spot_account_list_req import (
    GetSpotAccountListReqBuilder,
)
from kucoin_universal_sdk.generate.account.subaccount.model_add_sub_account_api_req import (
    AddSubAccountApiReqBuilder,
)
from kucoin_universal_sdk.generate.account.subaccount.model_delete_sub_account_api_req import (
    DeleteSubAccountApiReqBuilder,
)
from kucoin_universal_sdk.generate.account.subaccount.model_get_spot_sub_accounts_summary_v2_req import (  # noqa: E501
    GetSpotSubAccountsSummaryV2ReqBuilder,
)
from kucoin_universal_sdk.generate.account.subaccount.model_get_sub_account_api_list_req import (
    GetSubAccountApiListReqBuilder,
)
from kucoin_universal_sdk.generate.account.subaccount.model_modify_sub_account_api_req import (
    ModifySubAccountApiReqBuilder,
)
from kucoin_universal_sdk.model import ClientOptionBuilder, TransportOptionBuilder

Json = Any


class PeerError(Exception):
    def __init__(self, code: str, text: str) -> None:
        super().__init__(f"{code}: {text}")
        self.code = code


_CODE = re.compile(r"(?<!\d)([1-5]\d{5})(?!\d)")


def _code_of(exc: BaseException) -> PeerError:
    match = _CODE.search(str(exc))
    return PeerError(match.group(1) if match else "", str(exc))


class Peer:
    """The operations every peer offers; a peer lacking an endpoint raises NotImplementedError."""

    name = ""

    def __init__(self, url: str, key: str, secret: str, passphrase: str) -> None:
        raise NotImplementedError

    def call(self, operation: str, *args: Any) -> Json:
        try:
            return getattr(self, operation)(*args)
        except (NotImplementedError, AssertionError):
            raise
        except Exception as exc:
            raise _code_of(exc) from exc

    def timestamp(self) -> Json: ...
    def status(self) -> Json: ...
    def key_info(self) -> Json: ...
    def user_info(self) -> Json: ...
    def accounts(self) -> Json: ...
    def subs_v1(self) -> Json: ...
    def subs_v2(self, page: int, size: int) -> Json: ...
    def sub_keys(self, sub: str) -> Json: ...
    def create(self, sub: str, passphrase: str, remark: str, permission: str) -> Json: ...
    def update(self, sub: str, key: str, passphrase: str, permission: str) -> Json: ...
    def delete(self, sub: str, key: str, passphrase: str) -> Json: ...
    def unserved(self) -> Json:
        """A public KuCoin endpoint the simulator does not serve (the currency list)."""


class Ccxt(Peer):
    """ccxt's implicit API (no loadMarkets, no fetch* helper that would load markets)."""

    name = "ccxt"

    def __init__(self, url: str, key: str, secret: str, passphrase: str) -> None:
        self.ex = ccxt.kucoin({"apiKey": key, "secret": secret, "password": passphrase})
        self.ex.urls["api"] = {name: url for name in self.ex.urls["api"]}

    def _data(self, answer: Json) -> Json:
        assert answer["code"] == "200000", answer
        return answer["data"]

    def timestamp(self) -> Json:
        return self._data(self.ex.publicGetTimestamp())

    def status(self) -> Json:
        return self._data(self.ex.publicGetStatus())

    def key_info(self) -> Json:
        return self._data(self.ex.privateGetUserApiKey())

    def unserved(self) -> Json:
        return self._data(self.ex.publicGetCurrencies())

    def user_info(self) -> Json:
        return self._data(self.ex.privateGetUserInfo())

    def accounts(self) -> Json:
        return self._data(self.ex.privateGetAccounts())

    def subs_v1(self) -> Json:
        return self._data(self.ex.privateGetSubUser({"version": "v1"}))

    def subs_v2(self, page: int, size: int) -> Json:
        return self._data(self.ex.privateGetSubUser({"currentPage": page, "pageSize": size}))

    def sub_keys(self, sub: str) -> Json:
        return self._data(self.ex.privateGetSubApiKey({"subName": sub}))

    def create(self, sub: str, passphrase: str, remark: str, permission: str) -> Json:
        body = {"subName": sub, "passphrase": passphrase, "remark": remark}
        return self._data(self.ex.privatePostSubApiKey({**body, "permission": permission}))

    def update(self, sub: str, key: str, passphrase: str, permission: str) -> Json:
        body = {"subName": sub, "apiKey": key, "passphrase": passphrase, "permission": permission}
        return self._data(self.ex.privatePostSubApiKeyUpdate(body))

    def delete(self, sub: str, key: str, passphrase: str) -> Json:
        query = {"subName": sub, "apiKey": key, "passphrase": passphrase}
        return self._data(self.ex.privateDeleteSubApiKey(query))


class Universal(Peer):
    """kucoin-universal-sdk, the official SDK: every endpoint option set to the simulator."""

    name = "kucoin-universal-sdk"

    def __init__(self, url: str, key: str, secret: str, passphrase: str) -> None:
        option = (
            ClientOptionBuilder()
            .set_key(key)
            .set_secret(secret)
            .set_passphrase(passphrase)
            .set_spot_endpoint(url)
            .set_futures_endpoint(url)
            .set_broker_endpoint(url)
            .set_transport_option(TransportOptionBuilder().build())
            .build()
        )
        rest = DefaultClient(option).rest_service()
        self.market = rest.get_spot_service().get_market_api()
        self.account = rest.get_account_service().get_account_api()
        self.subs = rest.get_account_service().get_sub_account_api()

    @staticmethod
    def _data(answer: Any) -> Json:
        data = answer.model_dump(mode="json", by_alias=True)
        data.pop("common_response", None)
        return data.get("data", data)

    def timestamp(self) -> Json:
        return self._data(self.market.get_server_time())

    def status(self) -> Json:
        return self._data(self.market.get_service_status())

    def key_info(self) -> Json:
        return self._data(self.account.get_apikey_info())

    def unserved(self) -> Json:
        return self._data(self.market.get_all_currencies())

    def user_info(self) -> Json:
        return self._data(self.account.get_account_info())

    def accounts(self) -> Json:
        return self._data(
            self.account.get_spot_account_list(GetSpotAccountListReqBuilder().build())
        )

    def subs_v1(self) -> Json:
        return self._data(self.subs.get_spot_sub_accounts_summary_v1())

    def subs_v2(self, page: int, size: int) -> Json:
        req = GetSpotSubAccountsSummaryV2ReqBuilder().set_current_page(page).set_page_size(size)
        return self._data(self.subs.get_spot_sub_accounts_summary_v2(req.build()))

    def sub_keys(self, sub: str) -> Json:
        req = GetSubAccountApiListReqBuilder().set_sub_name(sub).build()
        return self._data(self.subs.get_sub_account_api_list(req))

    def create(self, sub: str, passphrase: str, remark: str, permission: str) -> Json:
        req = (
            AddSubAccountApiReqBuilder()
            .set_sub_name(sub)
            .set_passphrase(passphrase)
            .set_remark(remark)
            .set_permission(permission)
        )
        return self._data(self.subs.add_sub_account_api(req.build()))

    def update(self, sub: str, key: str, passphrase: str, permission: str) -> Json:
        req = (
            ModifySubAccountApiReqBuilder()
            .set_sub_name(sub)
            .set_api_key(key)
            .set_passphrase(passphrase)
            .set_permission(permission)
        )
        return self._data(self.subs.modify_sub_account_api(req.build()))

    def delete(self, sub: str, key: str, passphrase: str) -> Json:
        req = DeleteSubAccountApiReqBuilder().set_sub_name(sub).set_api_key(key)
        return self._data(self.subs.delete_sub_account_api(req.set_passphrase(passphrase).build()))


class PythonKucoin(Peer):
    """python-kucoin (sammchardy): plaintext passphrase and no KC-API-KEY-VERSION header."""

    name = "python-kucoin"

    def __init__(self, url: str, key: str, secret: str, passphrase: str) -> None:
        self.client = kucoin.client.Client(key, secret, passphrase)
        self.client.API_URL = url
        self.client.FUTURES_API_URL = url

    def timestamp(self) -> Json:
        return self.client.get_timestamp()

    def status(self) -> Json:
        return self.client.get_status()

    def unserved(self) -> Json:
        return self.client.get_currencies()

    def key_info(self) -> Json:
        raise NotImplementedError("python-kucoin has no call for GET /api/v1/user/api-key")

    def user_info(self) -> Json:
        return self.client.get_user_info()

    def accounts(self) -> Json:
        return self.client.get_accounts()

    def subs_v1(self) -> Json:
        return self.client.get_subaccounts()

    def subs_v2(self, page: int, size: int) -> Json:
        return self.client.get_subaccounts_v2(page=page, limit=size)

    def sub_keys(self, sub: str) -> Json:
        return self.client.get_subaccount_api_list(sub)

    def create(self, sub: str, passphrase: str, remark: str, permission: str) -> Json:
        return self.client.create_subaccount_api(sub, passphrase, remark, permission=permission)

    def update(self, sub: str, key: str, passphrase: str, permission: str) -> Json:
        return self.client.modify_subaccount_api(sub, key, passphrase, permission=permission)

    def delete(self, sub: str, key: str, passphrase: str) -> Json:
        return self.client.delete_subaccount_api(key, passphrase, sub)


PEERS: tuple[type[Peer], ...] = (Ccxt, Universal, PythonKucoin)
