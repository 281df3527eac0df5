//! The offline plan: expansion + lint + the scenario's expectations → Report.
