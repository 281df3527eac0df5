use super::{Emitter, Target};
use crate::appset::Environment;
pub fn missing_resources(_out: &mut Emitter<'_>, _t: &Target<'_>) {}
