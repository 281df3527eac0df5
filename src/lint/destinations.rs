use super::{Emitter, Target};
use crate::appset::Environment;
pub fn placeholder_server(_out: &mut Emitter<'_>, _t: &Target<'_>, _env: Option<&Environment>) {}
pub fn namespace_mismatch(_out: &mut Emitter<'_>, _t: &Target<'_>) {}
