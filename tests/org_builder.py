"""A small CPQ org written straight into staging, for golden cases worked by hand."""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal

import psycopg

from revcert.certification.independent_derivation import Contract, Line, Product, Rate, StagedOrg

MODSTAMP = datetime(2026, 1, 1, tzinfo=timezone.utc)
CHARGE_TYPES = {"recurring": "Recurring", "one_time": "One-Time", "usage": "Usage", "no_charge_type": None}


def d(text: str) -> date:
    return date.fromisoformat(text)


@dataclass
class OrgBuilder:
    """Accounts, contracts, renewal links, lines and rates of one hand-worked case."""

    corporate_currency: str | None = "USD"
    accounts: list[tuple] = field(default_factory=list)
    contracts: list[tuple] = field(default_factory=list)
    opportunities: list[tuple] = field(default_factory=list)
    lines: list[tuple] = field(default_factory=list)
    products: list[tuple] = field(default_factory=list)
    rates: list[tuple] = field(default_factory=list)
    _numbers: itertools.count = field(default_factory=lambda: itertools.count(1))
    _product_ids: dict[tuple, str] = field(default_factory=dict)

    def _id(self, prefix: str) -> str:
        return f"{prefix}{next(self._numbers):04d}"

    def account(self, name: str, business_unit: str | None, account_id: str | None = None) -> str:
        account_id = account_id or self._id("001")
        self.accounts.append((account_id, None, name, business_unit, "USD", False))
        return account_id

    def contract(self, account_id: str, start: str, end: str, *, renews: str | None = None,
                 link: str = "opportunity", contract_id: str | None = None) -> str:
        contract_id = contract_id or self._id("800")
        opportunity_id = self._id("006")
        renewed = renews if renews and link in ("opportunity", "both") else None
        self.opportunities.append((opportunity_id, account_id, renewed, None, False))
        self.contracts.append([contract_id, account_id, opportunity_id, None, "Activated", d(start), d(end), False])
        if renews and link in ("contract", "both"):
            for contract in self.contracts:
                if contract[0] == renews:
                    contract[3] = opportunity_id
        return contract_id

    def link_renewal(self, predecessor_id: str, successor_id: str) -> None:
        """Mark `successor_id` as a renewal of `predecessor_id` through the predecessor's renewal opportunity."""
        successor_opportunity = next(c[2] for c in self.contracts if c[0] == successor_id)
        next(c for c in self.contracts if c[0] == predecessor_id)[3] = successor_opportunity

    def product(self, kind: str = "recurring", term: Decimal | None = None) -> str:
        key = (kind, term)
        if key not in self._product_ids:
            self._product_ids[key] = f"01t{len(self._product_ids) + 1:04d}"
            self.products.append((self._product_ids[key], kind, "Family", CHARGE_TYPES[kind], term, False))
        return self._product_ids[key]

    def line(self, contract_id: str, net_price: str | None, quantity: str | None = "1", *,
             prorate: str | None = None, start: str | None = None, end: str | None = None,
             terminated: str | None = None, kind: str = "recurring", term: str | None = None,
             currency: str = "USD", line_id: str | None = None) -> str:
        line_id = line_id or self._id("a1B")
        product_id = self.product(kind, Decimal(term) if term else None)
        account_id = next((c[1] for c in self.contracts if c[0] == contract_id), None)
        self.lines.append((line_id, account_id, contract_id, product_id, None, currency,
                           Decimal(quantity) if quantity is not None else None,
                           Decimal(net_price) if net_price is not None else None,
                           Decimal(prorate) if prorate else None, d(start) if start else None,
                           d(end) if end else None, d(terminated) if terminated else None, False))
        return line_id

    def rate(self, iso_code: str, rate: str, start: str, next_start: str) -> None:
        self.rates.append((self._id("04w"), iso_code, Decimal(rate), d(start), d(next_start)))

    def staged_org(self) -> StagedOrg:
        """The case as the independent derivation reads it from staging, built in memory (no database)."""
        rates: dict[str, list[Rate]] = {}
        for _, iso_code, rate, start, next_start in sorted(self.rates, key=lambda r: (r[1], r[3])):
            rates.setdefault(iso_code, []).append(Rate(iso_code, rate, start, next_start))
        return StagedOrg(
            lines=[Line(line_id, contract_id, product_id, currency, quantity, price, prorate, start, end, terminated)
                   for (line_id, _, contract_id, product_id, _, currency, quantity, price, prorate, start, end,
                        terminated, _) in self.lines],
            contracts={c[0]: Contract(c[0], c[1], c[2], c[3], c[5], c[6]) for c in self.contracts},
            renewed_contract_of_opportunity={o[0]: o[2] for o in self.opportunities if o[2]},
            products={p[0]: Product(p[0], p[3], p[4], p[1]) for p in self.products},
            rates=rates,
            accounts={a[0]: (a[2], a[3]) for a in self.accounts},
            corporate_currencies=[self.corporate_currency] if self.corporate_currency else [],
        )

    def write(self, conn: psycopg.Connection) -> None:
        """Insert the case into the staging tables (batch 0)."""
        def insert(table: str, columns: str, rows: list) -> None:
            placeholders = ", ".join(["%s"] * (len(columns.split(",")) + 2))
            for row in rows:
                conn.execute(f"insert into staging.{table} ({columns}, system_modstamp, batch_id) "
                             f"values ({placeholders})", [*row, MODSTAMP, 0])

        insert("stg_account", "account_id, parent_account_id, account_name, business_unit, currency_iso_code, "
               "is_deleted", self.accounts)
        insert("stg_contract", "contract_id, account_id, opportunity_id, renewal_opportunity_id, status, "
               "start_date, end_date, is_deleted", self.contracts)
        insert("stg_opportunity", "opportunity_id, account_id, renewed_contract_id, amended_contract_id, is_deleted",
               self.opportunities)
        insert("stg_product", "product_id, product_name, product_family, charge_type, subscription_term_months, "
               "is_deleted", self.products)
        insert("stg_subscription_line", "subscription_line_id, account_id, contract_id, product_id, "
               "revised_subscription_line_id, currency_iso_code, quantity, net_price, prorate_multiplier, "
               "start_date, end_date, terminated_date, is_deleted", self.lines)
        insert("stg_dated_conversion_rate", "dated_conversion_rate_id, iso_code, conversion_rate, start_date, "
               "next_start_date", self.rates)
        if self.corporate_currency:
            insert("stg_currency_type", "currency_type_id, iso_code, conversion_rate, is_corporate",
                   [("02T0001", self.corporate_currency, Decimal(1), True)])
