use super::{Emitter, Target};
use crate::appset::Environment;
pub fn mutable_image_tag(_out: &mut Emitter<'_>, _t: &Target<'_>) {}
pub fn missing_pull_secret(_out: &mut Emitter<'_>, _t: &Target<'_>) {}
