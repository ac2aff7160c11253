//! Authentication: the token-signing key, sessions in Redis, and the request guards that turn
//! a bearer token into a caller with a role (seed 3.4: public, optional, user, seller, admin).

pub mod guards;
pub mod keys;
pub mod password;
pub mod sessions;

pub use guards::{AdminUser, CurrentUser, EdgeCaller, SellerUser, TokenHolder};
pub use keys::TokenKeys;
