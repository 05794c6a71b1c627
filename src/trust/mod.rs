//! Trust material: the model the verifier reads, the list formats it is loaded from, and the
//! checks that decide what is trusted.

pub mod cms;
pub mod formats;
pub mod ledger;
pub mod local;
pub mod model;
pub mod validate;
