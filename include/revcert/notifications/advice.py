"""What on-call does about each failure a page names: one piece of advice per rule or check.

Only a chain the renewal rules cannot classify (METHODOLOGY.md A3) can be
settled by a classification override; every other broken rule is fixed in the
source, and a check that compares two implementations points at this code.
"""
from __future__ import annotations

_OVERRIDE = ("fix the renewal links in Salesforce, or add a row to include/overrides/classification_overrides.csv "
             "(contract, customer account, reason, approver), reviewed like code")
_FIX_LINE = "fix the named subscription lines in Salesforce"
_FIX_ORDERS = "fix the named orders in Shopify, or re-run that shop with `full_extraction` (`shops: [\"<id>\"]`)"
_DEFECT = ("a defect in this code, not in the data: do not override; open an issue with the certification id "
           "and the certification record")

RULE_ADVICE = {
    "unknown_reporting_currency": "mark one CurrencyType as corporate in Salesforce (or give the records one "
                                  "currency)",
    "line_without_product": _FIX_LINE + " (set their product)",
    "line_without_contract": _FIX_LINE + " (set their contract)",
    "missing_service_dates": _FIX_LINE + " or their contracts (set the start and end dates)",
    "line_end_before_start": _FIX_LINE + " (an end before the start that no termination explains)",
    "missing_price_or_quantity": _FIX_LINE + " (set the net price and quantity)",
    "bad_prorate_multiplier": _FIX_LINE + " (a prorate multiplier must be above zero)",
    "bad_subscription_term": "fix the named products in Salesforce (a subscription term must be above zero)",
    "missing_conversion_rate": "add the dated conversion rate for the currency and date in Salesforce",
    "overlapping_conversion_rates": "correct the dated conversion rates in Salesforce so one currency's periods "
                                    "do not overlap",
    "renewal_cycle": _OVERRIDE,
    "unresolved_chain": _OVERRIDE + " for the contract on the cycle further up",
    "merged_customers": _OVERRIDE,
    "contract_without_account": "restore the customer account in Salesforce or book the contract on a live one",
    "negative_customer_mrr": "correct the amendment lines in Salesforce: they reduce the customer below zero. "
                             "A negative amount is never overridden",
    "unclassified_line": _DEFECT,
    "model_refused_data": "fix the named source records: the data breaks a mart model (its log names the value)",
    "shop_unknown_timezone": "set a valid IANA timezone for the shop in Shopify",
    "shop_missing_total": _FIX_ORDERS,
    "shop_refund_currency_mismatch": _FIX_ORDERS,
    "shop_zero_presentment_total_with_refunds": _FIX_ORDERS,
    # The same rules as the shop derivation (revcert.certification.shop_day_revenue) names them.
    "unknown_timezone": "set a valid IANA timezone for the shop in Shopify",
    "missing_total": _FIX_ORDERS,
    "refund_currency_mismatch": _FIX_ORDERS,
    "zero_presentment_total_with_refunds": _FIX_ORDERS,
    "duplicate_order_id": _FIX_ORDERS,
    "amount_not_a_decimal_string": _FIX_ORDERS,
}

CHECK_ADVICE = {
    "completeness": "records usually changed while the run read them: re-run; if it persists, compare "
                    "staging.extraction_audit with the source and re-run with `full_extraction`",
    "movement_identity": _DEFECT,
    "detail_sums": _DEFECT,
    "independent_derivation": _DEFECT,
}

EXTRACTION_ADVICE = ("the extraction did not finish (see the extract task's log): a source down or throttled is "
                     "retried by the next run; a revoked token or secret is renewed in its Airflow connection; "
                     "a field missing from the org is granted to the integration user")

_UNKNOWN_RULE = "fix the named records in the source"


def advice_for_rule(rule: str) -> str:
    return RULE_ADVICE.get(rule, _UNKNOWN_RULE)
