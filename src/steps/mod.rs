//! The five steps of a run, as pure functions over what the runner fetched.
