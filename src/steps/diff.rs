//! Step 2.
