//! Trust material: the model the verifier reads, the list formats it is loaded from, and the
//! checks that decide what is trusted.

pub mod cms;
pub mod formats;
pub mod jose;
pub mod ledger;
pub mod live;
pub mod material;
pub mod model;
pub mod publish;
pub mod refresh;
pub mod sources;
pub mod store;
pub mod validate;
