use super::Emitter;
pub fn matrix_cross_product(_out: &mut Emitter<'_>) {}
