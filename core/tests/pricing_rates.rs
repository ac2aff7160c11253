//! The rates checkout prices with: a state's own tax rate over its country's, and the
//! fallbacks where nothing is configured.

use edgeshop_core::pricing::store::{Rates, rates};
use rust_decimal_macros::dec;
use sqlx::PgPool;

#[sqlx::test(migrations = "../migrations")]
async fn a_states_rate_overrides_its_countrys_and_missing_rates_fall_back(db: PgPool) {
    sqlx::raw_sql(
        "INSERT INTO tax_rates (country, state, rate) VALUES ('ZZ', '', 0.05), ('ZZ', 'North', 0.07);
         INSERT INTO shipping_rates (country, flat, free_over) VALUES ('ZZ', 4.50, 60.00), ('ZY', 6.00, NULL);",
    )
    .execute(&db)
    .await
    .unwrap();
    let zz = |tax| Rates {
        tax,
        shipping_flat: dec!(4.50),
        free_shipping_over: Some(dec!(60.00)),
    };
    assert_eq!(rates(&db, "ZZ", "North").await.unwrap(), zz(dec!(0.07)));
    assert_eq!(rates(&db, "ZZ", "South").await.unwrap(), zz(dec!(0.05)));
    assert_eq!(
        rates(&db, "ZY", "").await.unwrap(),
        Rates {
            tax: dec!(0),
            shipping_flat: dec!(6.00),
            free_shipping_over: None,
        }
    );
    // Nothing configured: no tax, the flat fallback, never free.
    assert_eq!(
        rates(&db, "ZX", "").await.unwrap(),
        Rates {
            tax: dec!(0),
            shipping_flat: dec!(9.99),
            free_shipping_over: None,
        }
    );
}
