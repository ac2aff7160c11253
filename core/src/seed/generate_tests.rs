//! Unit tests of the pure generator (no database).

use std::collections::HashSet;

use rust_decimal::Decimal;
use serde_json::Value;

use super::*;

fn valid_sku(sku: &str) -> bool {
    let b = sku.as_bytes();
    !b.is_empty()
        && sku.len() <= 100
        && (b[0].is_ascii_uppercase() || b[0].is_ascii_digit())
        && b.iter().all(|c| {
            c.is_ascii_uppercase() || c.is_ascii_digit() || matches!(c, b'.' | b'_' | b'-')
        })
}

fn valid_slug(slug: &str) -> bool {
    // ^[a-z0-9]+(-[a-z0-9]+)*$
    !slug.is_empty()
        && slug.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
}

fn string_object(value: &Value) -> bool {
    value.as_object().is_some_and(|map| {
        map.iter().all(|(k, v)| {
            !k.is_empty()
                && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                && v.as_str().is_some_and(|s| !s.trim().is_empty())
        })
    })
}

fn sample() -> (Fixed, Chunk) {
    generate(3_000, 42)
}

#[test]
fn the_same_seed_gives_the_same_catalog() {
    assert_eq!(generate(400, 7), generate(400, 7));
    assert_ne!(generate(400, 7).1.products, generate(400, 8).1.products);
    // The tree is fixed data, whatever the seed and size.
    assert_eq!(generate(10, 1).0.categories, generate(500, 2).0.categories);
}

#[test]
fn chunking_does_not_change_the_catalog() {
    let (_, whole) = generate(300, 9);
    let (mut generator, _) = Generator::new(9);
    let (first, second) = (generator.chunk(120), generator.chunk(180));
    assert_eq!(
        [first.products.clone(), second.products.clone()].concat(),
        whole.products
    );
    let skus = |c: &Chunk| c.variants.iter().map(|v| v.sku.clone()).collect::<Vec<_>>();
    assert_eq!([skus(&first), skus(&second)].concat(), skus(&whole));
    assert_eq!(
        first.inventory.len() + second.inventory.len(),
        whole.inventory.len()
    );
    // Indexes are chunk-local.
    assert!(second.variants.iter().all(|v| v.product < 180));
}

#[test]
fn the_demo_password_hash_is_argon2id_reproducible_and_verifies() {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    let hash = demo_password_hash(42).unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert_eq!(hash, demo_password_hash(42).unwrap());
    let parsed = PasswordHash::new(&hash).unwrap();
    assert!(
        argon2::Argon2::default()
            .verify_password(DEMO_PASSWORD.as_bytes(), &parsed)
            .is_ok()
    );
}

#[test]
fn the_category_tree_is_a_realistic_shape_with_unique_valid_slugs() {
    let (fixed, catalog) = sample();
    let roots: Vec<_> = fixed
        .categories
        .iter()
        .filter(|c| c.parent.is_none())
        .collect();
    assert_eq!(roots.len(), 8);
    for (i, category) in fixed.categories.iter().enumerate() {
        assert!(valid_slug(&category.slug), "bad slug {:?}", category.slug);
        if let Some(parent) = category.parent {
            assert!(parent < i, "parents come before children");
            assert_eq!(category.level, fixed.categories[parent].level + 1);
        }
    }
    for (root_index, _) in fixed
        .categories
        .iter()
        .enumerate()
        .filter(|(_, c)| c.parent.is_none())
    {
        let subs = fixed
            .categories
            .iter()
            .filter(|c| c.parent == Some(root_index))
            .count();
        assert!((3..=6).contains(&subs), "{subs} sub-categories");
    }
    assert!(
        fixed.categories.iter().any(|c| c.level == 2),
        "some third level"
    );
    let slugs: HashSet<_> = fixed.categories.iter().map(|c| &c.slug).collect();
    assert_eq!(slugs.len(), fixed.categories.len());
    assert_eq!(slugify("Men's Clothing"), "mens-clothing");
    assert_eq!(slugify("Home & Kitchen"), "home-kitchen");
    // Products sit in leaves only.
    let parents: HashSet<usize> = fixed.categories.iter().filter_map(|c| c.parent).collect();
    assert!(
        catalog
            .products
            .iter()
            .all(|p| !parents.contains(&p.category))
    );
}

#[test]
fn skus_are_unique_and_upper_case() {
    let (_, catalog) = sample();
    let mut seen = HashSet::new();
    for sku in catalog
        .products
        .iter()
        .map(|p| &p.sku)
        .chain(catalog.variants.iter().map(|v| &v.sku))
    {
        assert!(valid_sku(sku), "bad sku {sku:?}");
        assert!(seen.insert(sku.clone()), "duplicate sku {sku}");
    }
    for variant in &catalog.variants {
        assert!(
            variant
                .sku
                .starts_with(&catalog.products[variant.product].sku)
        );
    }
}

#[test]
fn prices_have_cents_sales_are_lower_and_every_facet_is_used() {
    let (_, catalog) = sample();
    let mut facets = [0usize; 4];
    let two_dp = |d: &Decimal| d.scale() <= 2 && !d.is_sign_negative();
    for product in &catalog.products {
        assert!(
            two_dp(&product.base_price) && product.base_price > Decimal::ZERO,
            "{}",
            product.base_price
        );
        if let Some(sale) = product.sale_price {
            assert!(two_dp(&sale));
            assert!(
                sale < product.base_price,
                "{sale} !< {}",
                product.base_price
            );
        }
        let effective = product.sale_price.unwrap_or(product.base_price);
        let facet = [500, 1000, 1500]
            .iter()
            .filter(|&&edge| effective >= Decimal::from(edge))
            .count();
        facets[facet] += 1;
    }
    assert!(facets.iter().all(|&n| n > 0), "facets {facets:?}");
    let on_sale = catalog
        .products
        .iter()
        .filter(|p| p.sale_price.is_some())
        .count();
    assert!((700..1100).contains(&on_sale), "{on_sale} of 3000 on sale");
    assert!(catalog.variants.iter().all(|v| two_dp(&v.price_modifier)));
}

#[test]
fn attributes_are_objects_of_strings() {
    let (_, catalog) = sample();
    assert!(
        catalog
            .products
            .iter()
            .all(|p| string_object(&p.attributes) && !p.attributes.as_object().unwrap().is_empty())
    );
    assert!(
        catalog
            .variants
            .iter()
            .all(|v| string_object(&v.attributes))
    );
}

#[test]
fn texts_are_filled_and_descriptions_have_two_to_four_sentences() {
    let (fixed, catalog) = sample();
    for product in &catalog.products {
        assert!(!product.name.trim().is_empty() && product.name.chars().count() <= 500);
        assert!(
            !product.name.contains('{') && !product.description.contains('{'),
            "{}",
            product.description
        );
        // No word list value contains ". ", so sentence ends are exactly the ". " plus the last.
        let sentences = product.description.matches(". ").count() + 1;
        assert!(product.description.ends_with('.'));
        assert!((2..=4).contains(&sentences), "{:?}", product.description);
    }
    for user in &fixed.users {
        assert_eq!(user.email, user.email.to_lowercase());
        assert!(user.email.ends_with("@demo.edgeshop.local"));
    }
    assert_eq!(
        fixed.users.iter().filter(|u| u.role == "SELLER").count(),
        SELLER_COUNT
    );
    assert_eq!(
        fixed.users.iter().filter(|u| u.role == "CUSTOMER").count(),
        CUSTOMER_COUNT
    );
}

#[test]
fn variants_images_stock_and_reviews_follow_the_rules() {
    let (fixed, catalog) = sample();
    let n = catalog.products.len();
    let mut variants_of = vec![0usize; n];
    for v in &catalog.variants {
        variants_of[v.product] += 1;
        assert!(v.price_modifier >= Decimal::ZERO);
    }
    let with_variants = variants_of.iter().filter(|&&c| c > 0).count();
    assert!(
        (1_600..2_000).contains(&with_variants),
        "{with_variants} of 3000 with variants"
    );
    assert!(variants_of.iter().all(|&c| c == 0 || (2..=4).contains(&c)));

    let mut images_of = vec![(0usize, 0usize); n];
    for image in &catalog.images {
        images_of[image.product].0 += 1;
        images_of[image.product].1 += usize::from(image.is_primary);
        assert!(image.n >= 1 && !image.alt_text.is_empty());
    }
    assert!(
        images_of
            .iter()
            .all(|&(count, primary)| (1..=3).contains(&count) && primary == 1)
    );
    assert_eq!(image_url(17, 2), "/images/products/17/2.svg?v=1");

    // Stock: per variant for products with variants, variant-less otherwise; no duplicate
    // (product, variant, warehouse).
    let mut keys = HashSet::new();
    let mut units_stocked = HashSet::new();
    for row in &catalog.inventory {
        assert!(keys.insert((row.product, row.variant, row.warehouse)));
        assert!((0..=500).contains(&row.quantity_total));
        match row.variant {
            Some(v) => assert_eq!(catalog.variants[v].product, row.product),
            None => assert_eq!(variants_of[row.product], 0),
        }
        units_stocked.insert((row.product, row.variant));
    }
    assert_eq!(
        units_stocked.len(),
        catalog.variants.len() + variants_of.iter().filter(|&&c| c == 0).count()
    );
    let mut unit_total = std::collections::HashMap::new();
    for row in &catalog.inventory {
        *unit_total.entry((row.product, row.variant)).or_insert(0) += row.quantity_total;
    }
    let sold_out = unit_total.values().filter(|&&q| q == 0).count();
    let share = sold_out * 100 / unit_total.len();
    assert!((5..=11).contains(&share), "{share}% of units sold out");

    let mut pairs = HashSet::new();
    let mut reviewed = HashSet::new();
    let mut rating_sum = 0i64;
    for review in &catalog.reviews {
        assert!(
            pairs.insert((review.product, review.user)),
            "one review per customer and product"
        );
        assert!((1..=5).contains(&review.rating));
        assert_eq!(fixed.users[review.user].role, "CUSTOMER");
        assert!(review.age_secs <= catalog.products[review.product].age_secs);
        reviewed.insert(review.product);
        rating_sum += i64::from(review.rating);
    }
    assert!(
        (1_050..1_350).contains(&reviewed.len()),
        "{} of 3000 reviewed",
        reviewed.len()
    );
    // Skewed to 4-5 stars: mean above 3.8 (compared in integers).
    assert!(rating_sum * 10 > 38 * catalog.reviews.len() as i64);
}
