"""The standing suite of faults and bad input (issue 17), grown with every new kind met.

- test_salesforce_bad_input.py, test_shopify_bad_input.py: bad records through the DAGs, each named by rule
  and record with viz unchanged; odd but valid input certified; injections in DAG params.
- test_mrr_crashes.py, test_shop_crashes.py: SIGKILL as every task starts and inside the transform and publish
  transactions, for both pipelines; no secret in any log or message.
- Elsewhere, by the entry point they reach: bad arguments and snapshots through the CLI
  (tests/local/test_cli.py, test_shop_cli.py), reviewed files (tests/methodology/test_overrides.py,
  test_shop_settings.py), every API route and parameter (tests/ui/test_api.py), markup in every published
  text field in the browser (tests/ui/test_certified_revenue_page.py), property tests (tests/properties/).
"""
