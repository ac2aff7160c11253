//! The catalog as it stands today for the lines of one or more carts: each product is looked
//! up once (from the edge cache, else the core), so a view or a merge prices every line alike.

use std::collections::HashMap;

use shared_model::api::catalog::ProductDetail;
use shared_model::cart::{CartLine, LineAvailability};
use shared_model::ids::{ProductId, VariantId};

use super::lines::availability;
use crate::catalog;
use crate::config::EdgeConfig;
use crate::host::Host;

pub struct Catalog {
    /// `None`: gone, not for sale, or the core could not be asked (counted as unavailable).
    products: HashMap<ProductId, Option<ProductDetail>>,
}

impl Catalog {
    pub async fn for_lines<'a>(
        host: &impl Host,
        config: &EdgeConfig,
        lines: impl IntoIterator<Item = &'a CartLine>,
    ) -> Self {
        let mut products = HashMap::new();
        for line in lines {
            if let std::collections::hash_map::Entry::Vacant(slot) = products.entry(line.product_id)
            {
                let found = catalog::product(host, config, line.product_id)
                    .await
                    .ok()
                    .flatten();
                slot.insert(found.map(|p| p.product));
            }
        }
        Catalog { products }
    }

    /// The product's name, when the catalog still knows it.
    pub fn name(&self, product: ProductId) -> Option<&str> {
        self.products
            .get(&product)
            .and_then(Option::as_ref)
            .map(|p| p.name.as_str())
    }

    pub fn availability(&self, product: ProductId, variant: Option<VariantId>) -> LineAvailability {
        availability(
            self.products.get(&product).and_then(Option::as_ref),
            variant,
        )
    }
}
