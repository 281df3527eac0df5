//! Step 5.
