"""The Salesforce accounts behind the records a page names, read from staging when the page is written.

A page names customers by account name and business unit, as people know
them, beside the record ids the rules report (a subscription line, a contract
or the customer account itself). Staging is read, not the mart: a run whose
records break a rule rolls its mart build back, so the mart may still be the
previous run's.
"""
from __future__ import annotations

from dataclasses import dataclass

import psycopg

from revcert.extraction.salesforce_client import SalesforceCredentials

_UNASSIGNED = "UNASSIGNED"  # METHODOLOGY.md A3: an account without a business unit


@dataclass(frozen=True)
class Account:
    """The account a record is booked on (the account itself for an account id)."""

    account_id: str
    account_name: str | None
    business_unit: str
    is_deleted: bool


def accounts_of_records(conn: psycopg.Connection, record_ids: list[str]) -> dict[str, Account]:
    """Each record id's account: a line's account (else its contract's), a contract's, or the account's own.

    Ids staging does not know (an object, a conversion rate, a Shopify order) are left out.
    """
    if not record_ids:
        return {}
    rows = conn.execute(
        "select named.record_id, account.account_id, account.account_name, account.business_unit, "
        "account.is_deleted "
        "from unnest(%(ids)s::text[]) as named (record_id) "
        "left join staging.stg_subscription_line as line on named.record_id = line.subscription_line_id "
        "left join staging.stg_contract as contract "
        "on coalesce(line.contract_id, named.record_id) = contract.contract_id "
        "inner join staging.stg_account as account "
        "on coalesce(line.account_id, contract.account_id, named.record_id) = account.account_id",
        {"ids": sorted(set(record_ids))}).fetchall()
    return {record_id: Account(account_id, name, business_unit or _UNASSIGNED, is_deleted)
            for record_id, account_id, name, business_unit, is_deleted in rows}


def salesforce_record_url(instance_url: str | None, record_id: str) -> str | None:
    """The record's page in the org (`https://<my domain>/<id>` opens any object), or None without an org URL."""
    if not instance_url:
        return None
    return f"{instance_url.rstrip('/')}/{record_id}"


def salesforce_instance_url(conn_id: str) -> str | None:
    """The org's URL when the Salesforce connection names one (read when a page is written), else None."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        named = BaseHook.get_connection(conn_id).host
    except AirflowNotFoundException:  # a deployment without Salesforce: record ids without links
        return None
    return SalesforceCredentials.from_airflow_connection(conn_id).instance_url if named else None
