//! Trust material: the model the verifier reads and the list formats it is loaded from.

pub mod formats;
pub mod ledger;
pub mod local;
pub mod model;
