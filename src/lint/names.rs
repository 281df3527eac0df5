use super::Emitter;
use crate::appset::Expansion;
pub fn duplicate_application_name(_out: &mut Emitter<'_>, _e: &Expansion) {}
