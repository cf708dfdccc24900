//! The vision parts of identification: photo handling, the Fireworks client, the prompt
//! variants, and mapping the model's answer onto the catalog.

pub mod fireworks;
pub mod image;
pub mod matching;
pub mod variants;
