use super::{Emitter, Target};
use crate::appset::Environment;
pub fn prod_auto_prune(_out: &mut Emitter<'_>, _t: &Target<'_>) {}
pub fn mutable_target_revision(_out: &mut Emitter<'_>, _t: &Target<'_>) {}
