use super::Emitter;
pub fn unknown_fields_appset(_out: &mut Emitter<'_>) {}
pub fn unknown_fields_application(_out: &mut Emitter<'_>) {}
