//! Trust material: the model the verifier reads, the list formats it is loaded from, and the
//! checks that decide what is trusted.

pub mod check;
pub mod cms;
pub mod formats;
pub mod jose;
pub mod ledger;
pub mod local;
pub mod model;
pub mod refresh;
pub mod sources;
pub mod store;
pub mod validate;
