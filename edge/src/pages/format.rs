//! How values read on a page.

use rust_decimal::Decimal;
use shared_model::Currency;

/// `$499.00`, `€19.99`, else `19.99 CHF`.
pub fn money(amount: Decimal, currency: Currency) -> String {
    let amount = amount.round_dp(2);
    match currency.as_str() {
        "USD" => format!("${amount:.2}"),
        "EUR" => format!("€{amount:.2}"),
        "GBP" => format!("£{amount:.2}"),
        other => format!("{amount:.2} {other}"),
    }
}

/// `1 item`, `3 items`.
pub fn items(count: u32) -> String {
    match count {
        1 => "1 item".into(),
        n => format!("{n} items"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_show_two_decimals_and_the_currency() {
        let usd = Currency::USD;
        assert_eq!(money("499".parse().unwrap(), usd), "$499.00");
        assert_eq!(money("19.999".parse().unwrap(), usd), "$20.00");
        let chf: Currency = serde_json::from_str("\"CHF\"").unwrap();
        assert_eq!(money("5.5".parse().unwrap(), chf), "5.50 CHF");
    }
}
