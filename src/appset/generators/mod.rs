//! One file per generator; each turns its spec into parameter sets.
