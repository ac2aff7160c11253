//! Pure, RNG-driven generation of the demo catalog. Nothing here touches the database: rows
//! refer to each other by index into their [`Chunk`]'s vectors, and `store.rs` swaps indexes
//! for database ids. Products come in chunks so the database can write one chunk while the
//! next is generated on another core; one RNG stream runs through all chunks, so the same
//! `(products, rng_seed)` yields the same catalog however it is chunked (for this version of
//! rand's `StdRng` and of the word lists).

use argon2::password_hash::{PasswordHasher, SaltString};
use rand::distributions::{Distribution, WeightedIndex};
use rand::rngs::StdRng;
use rand::seq::{SliceRandom, index};
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use serde_json::{Map, Value};

use super::catalog_data::{
    Axis, DEPARTMENTS, Department, FIRST_NAMES, Kind, LAST_NAMES, MODEL_LETTERS, MODEL_SERIES,
    Naming, Node, REVIEW_BODIES, REVIEW_TITLES, SELLER_NAMES, TITLE_ADJECTIVES, TITLE_NOUNS,
    WAREHOUSES,
};

/// Domain of every account the seeder creates; `reset` deletes only these accounts.
pub const DEMO_DOMAIN: &str = "demo.edgeshop.local";
/// The one password of every demo account (documented in the README / run output).
pub const DEMO_PASSWORD: &str = "edgeshop-demo";
pub const CUSTOMER_COUNT: usize = 200;
pub const SELLER_COUNT: usize = 5;
pub const LOW_STOCK_THRESHOLD: i32 = 10;

const YEAR_SECS: i32 = 365 * 24 * 3600;

#[derive(Debug, Clone, PartialEq)]
pub struct CategorySeed {
    pub name: String,
    pub slug: String,
    /// Index of the parent in `Catalog::categories` (always earlier in the vector).
    pub parent: Option<usize>,
    pub level: u8,
    pub display_order: i32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UserSeed {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub role: &'static str,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SellerSeed {
    /// Index into `Catalog::users`.
    pub user: usize,
    pub display_name: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProductSeed {
    /// `None` is the house seller, `Some(i)` is `Catalog::sellers[i]`.
    pub seller: Option<usize>,
    pub category: usize,
    pub name: String,
    pub description: String,
    pub brand: String,
    pub sku: String,
    pub base_price: Decimal,
    pub sale_price: Option<Decimal>,
    pub attributes: Value,
    /// How long ago the product was listed, so "newest first" has a realistic spread.
    pub age_secs: i32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct VariantSeed {
    pub product: usize,
    pub sku: String,
    pub name: String,
    pub price_modifier: Decimal,
    pub attributes: Value,
    pub display_order: i32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ImageSeed {
    pub product: usize,
    /// 1-based position; also the file name in the image URL.
    pub n: u32,
    pub alt_text: String,
    pub is_primary: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct InventorySeed {
    pub product: usize,
    /// Index into `Catalog::variants`; `None` for a product sold without variants.
    pub variant: Option<usize>,
    /// Index into `catalog_data::WAREHOUSES`.
    pub warehouse: usize,
    pub quantity_total: i32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReviewSeed {
    pub product: usize,
    /// Index into `Catalog::users` (always a customer).
    pub user: usize,
    pub rating: i16,
    pub title: String,
    pub body: String,
    /// Younger than its product.
    pub age_secs: i32,
}

/// The rows that do not depend on the product count.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Fixed {
    pub categories: Vec<CategorySeed>,
    /// The sellers first (seller1..), then the customers (customer1..).
    pub users: Vec<UserSeed>,
    pub sellers: Vec<SellerSeed>,
}

/// A run of consecutive products and everything hanging off them. `product` and `variant`
/// fields index this chunk's own vectors.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Chunk {
    pub products: Vec<ProductSeed>,
    pub variants: Vec<VariantSeed>,
    pub images: Vec<ImageSeed>,
    pub inventory: Vec<InventorySeed>,
    pub reviews: Vec<ReviewSeed>,
}

/// The URL the edge serves a product's n-th (1-based) placeholder image at.
pub fn image_url(product_id: i64, n: u32) -> String {
    format!("/images/products/{product_id}/{n}.svg?v=1")
}

/// One argon2id PHC hash of [`DEMO_PASSWORD`], shared by every demo account: hashing costs
/// tens of milliseconds by design, and 205 accounts with one known password gain nothing from
/// distinct salts. The salt comes from the seed, so the hash is reproducible too.
pub fn demo_password_hash(rng_seed: u64) -> anyhow::Result<String> {
    // A stream separate from the catalog's, so the catalog does not depend on the hashing.
    let mut rng = StdRng::seed_from_u64(rng_seed ^ 0x5eed_a5a1_7000_0001);
    let salt = SaltString::generate(&mut rng);
    argon2::Argon2::default()
        .hash_password(DEMO_PASSWORD.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| anyhow::anyhow!("hashing the demo password: {e}"))
}

/// Lower-case, hyphen-separated ASCII: "Men's Clothing" → "mens-clothing".
pub fn slugify(name: &str) -> String {
    let mut slug = String::with_capacity(name.len());
    for c in name.chars().filter(|c| *c != '\'') {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').to_owned()
}

/// A leaf category products can be placed in.
struct Leaf {
    category: usize,
    department: &'static Department,
    kind: &'static Kind,
}

/// Draws the catalog product by product from one seeded RNG stream.
pub struct Generator {
    rng: StdRng,
    leaves: Vec<Leaf>,
    leaf_pick: WeightedIndex<u32>,
    seller_pick: WeightedIndex<u32>,
    warehouse_pick: WeightedIndex<u32>,
    /// Products generated so far (SKUs number products catalog-wide).
    generated: usize,
}

impl Generator {
    pub fn new(rng_seed: u64) -> (Generator, Fixed) {
        let mut rng = StdRng::seed_from_u64(rng_seed);
        let mut fixed = Fixed::default();
        let leaves = categories(&mut fixed.categories);
        people(&mut rng, &mut fixed);
        // Integer weights only: WeightedIndex<u32> samples without floats.
        let leaf_pick = WeightedIndex::new(leaves.iter().map(|l| l.kind.weight))
            .expect("every leaf has a positive weight");
        // The house seller lists 40% of the catalog, each marketplace seller 12%.
        let seller_pick = WeightedIndex::new([40u32, 12, 12, 12, 12, 12]).expect("static weights");
        let warehouse_pick =
            WeightedIndex::new(WAREHOUSES.iter().map(|w| w.weight)).expect("static weights");
        let generator = Generator {
            rng,
            leaves,
            leaf_pick,
            seller_pick,
            warehouse_pick,
            generated: 0,
        };
        (generator, fixed)
    }

    /// The next `products` products.
    pub fn chunk(&mut self, products: usize) -> Chunk {
        let mut chunk = Chunk::default();
        for _ in 0..products {
            let leaf = &self.leaves[self.leaf_pick.sample(&mut self.rng)];
            let seller = match self.seller_pick.sample(&mut self.rng) {
                0 => None,
                s => Some(s - 1),
            };
            self.generated += 1;
            product(
                &mut self.rng,
                &mut chunk,
                self.generated,
                leaf,
                seller,
                &self.warehouse_pick,
            );
        }
        chunk
    }
}

/// The whole catalog in one chunk (tests).
#[cfg(test)]
pub fn generate(products: usize, rng_seed: u64) -> (Fixed, Chunk) {
    let (mut generator, fixed) = Generator::new(rng_seed);
    (fixed, generator.chunk(products))
}

/// Flattens the department tree, parents before children, and returns the leaves.
fn categories(out: &mut Vec<CategorySeed>) -> Vec<Leaf> {
    fn walk(
        out: &mut Vec<CategorySeed>,
        leaves: &mut Vec<Leaf>,
        department: &'static Department,
        nodes: &'static [Node],
        parent: usize,
        level: u8,
    ) {
        for (order, node) in nodes.iter().enumerate() {
            let index = out.len();
            out.push(CategorySeed {
                name: node.name.to_owned(),
                slug: slugify(node.name),
                parent: Some(parent),
                level,
                display_order: order as i32,
            });
            match &node.kind {
                Some(kind) if node.children.is_empty() => leaves.push(Leaf {
                    category: index,
                    department,
                    kind,
                }),
                _ => walk(out, leaves, department, node.children, index, level + 1),
            }
        }
    }
    let mut leaves = Vec::new();
    for (order, department) in DEPARTMENTS.iter().enumerate() {
        let index = out.len();
        out.push(CategorySeed {
            name: department.name.to_owned(),
            slug: slugify(department.name),
            parent: None,
            level: 0,
            display_order: order as i32,
        });
        walk(out, &mut leaves, department, department.children, index, 1);
    }
    leaves
}

fn people(rng: &mut StdRng, catalog: &mut Fixed) {
    let person = |rng: &mut StdRng, email: String, role: &'static str| UserSeed {
        email,
        first_name: (*FIRST_NAMES.choose(rng).unwrap_or(&"Alex")).to_owned(),
        last_name: (*LAST_NAMES.choose(rng).unwrap_or(&"Doe")).to_owned(),
        role,
    };
    for n in 1..=SELLER_COUNT {
        let user = person(rng, format!("seller{n}@{DEMO_DOMAIN}"), "SELLER");
        catalog.sellers.push(SellerSeed {
            user: catalog.users.len(),
            display_name: SELLER_NAMES[n - 1].to_owned(),
        });
        catalog.users.push(user);
    }
    for n in 1..=CUSTOMER_COUNT {
        let user = person(rng, format!("customer{n}@{DEMO_DOMAIN}"), "CUSTOMER");
        catalog.users.push(user);
    }
}

fn pick<'a>(rng: &mut StdRng, words: &'a [&'a str]) -> &'a str {
    words.choose(rng).copied().unwrap_or_default()
}

/// Upper-case ASCII letters and digits of `text`, at most `max` of them.
fn code(text: &str, max: usize) -> String {
    text.chars()
        .filter(char::is_ascii_alphanumeric)
        .take(max)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// A product and its variants, images, stock rows and reviews; `number` is 1-based and
/// catalog-wide.
fn product(
    rng: &mut StdRng,
    catalog: &mut Chunk,
    number: usize,
    leaf: &Leaf,
    seller: Option<usize>,
    warehouse_pick: &WeightedIndex<u32>,
) {
    let (kind, department) = (leaf.kind, leaf.department);
    let brand = pick(rng, department.brands);
    let noun = pick(rng, kind.nouns);
    let (name, model_code) = match &department.naming {
        Naming::Tech => {
            let model = match rng.gen_range(0..3) {
                0 => format!("{} {}", pick(rng, MODEL_SERIES), rng.gen_range(2..=20)),
                1 => format!("{}{}", pick(rng, MODEL_LETTERS), rng.gen_range(1..=99)),
                _ => format!(
                    "{} {}{}",
                    pick(rng, MODEL_SERIES),
                    pick(rng, MODEL_LETTERS),
                    rng.gen_range(1..=9)
                ),
            };
            (format!("{brand} {model} {noun}"), code(&model, 8))
        }
        Naming::Words(words) => {
            let line = pick(rng, words);
            (
                format!("{brand} {line} {noun}"),
                format!("{}{}", code(line, 3), rng.gen_range(1..=99)),
            )
        }
        Naming::Title => {
            let (adjective, title_noun) = (pick(rng, TITLE_ADJECTIVES), pick(rng, TITLE_NOUNS));
            (
                format!("The {adjective} {title_noun}: {noun}"),
                format!("{}{}", code(adjective, 2), code(title_noun, 2)),
            )
        }
    };
    // The catalog-wide index makes SKUs unique whatever the brand and model collide on.
    let sku = format!("{}-{}-{:06}", code(brand, 3), model_code, number);

    let base_cents = price_cents(rng, kind.prices);
    let sale_cents = rng.gen_ratio(3, 10).then(|| sale_cents(rng, base_cents));

    let mut attributes = Map::new();
    for attr in kind.attributes {
        attributes.insert(
            attr.key.to_owned(),
            Value::String(pick(rng, attr.values).to_owned()),
        );
    }
    // ~60% of products come in 2-4 variants; the others carry one value of each axis as a
    // plain attribute, so filters like ?color=Blue match them too.
    let combos = if rng.gen_ratio(3, 5) {
        variant_combos(rng, kind.axes)
    } else {
        Vec::new()
    };
    if combos.is_empty() {
        for axis in kind.axes {
            let option = &axis.options[rng.gen_range(0..axis.options.len())];
            attributes.insert(axis.key.to_owned(), Value::String(option.label.to_owned()));
        }
    }
    let description = description(rng, department, &name, brand, noun, &attributes);
    let age_secs = rng.gen_range(0..=YEAR_SECS);

    let product = catalog.products.len();
    let mut units: Vec<Option<usize>> = Vec::with_capacity(combos.len().max(1));
    for (order, combo) in combos.iter().enumerate() {
        units.push(Some(catalog.variants.len()));
        catalog
            .variants
            .push(variant(product, &sku, kind.axes, combo, order as i32));
    }
    if units.is_empty() {
        units.push(None);
    }

    let image_count = [1u32, 2, 2, 3, 3][rng.gen_range(0..5)];
    for n in 1..=image_count {
        let alt_text = match n {
            1 => name.clone(),
            2 => format!("{name} - side view"),
            _ => format!("{name} - detail"),
        };
        catalog.images.push(ImageSeed {
            product,
            n,
            alt_text,
            is_primary: n == 1,
        });
    }

    for variant in units {
        stock(
            rng,
            &mut catalog.inventory,
            product,
            variant,
            warehouse_pick,
        );
    }
    reviews(rng, &mut catalog.reviews, product, age_secs);

    catalog.products.push(ProductSeed {
        seller,
        category: leaf.category,
        name,
        description,
        brand: brand.to_owned(),
        sku,
        base_price: Decimal::new(base_cents, 2),
        sale_price: sale_cents.map(|c| Decimal::new(c, 2)),
        attributes: Value::Object(attributes),
        age_secs,
    });
}

/// A price in cents from a whole-dollar ladder, with retail endings (.99 mostly).
fn price_cents(rng: &mut StdRng, ladder: &[i64]) -> i64 {
    let segment = rng.gen_range(0..ladder.len() - 1);
    let dollars = rng.gen_range(ladder[segment]..ladder[segment + 1]);
    dollars * 100
        + match rng.gen_range(0..20) {
            0..=12 => 99,
            13..=15 => 0,
            16..=17 => 49,
            _ => rng.gen_range(0..100),
        }
}

/// 5-40% off, rounded down to a .99 ending when over a dollar: always below the base price.
fn sale_cents(rng: &mut StdRng, base_cents: i64) -> i64 {
    let discounted = base_cents * (100 - rng.gen_range(5..=40)) / 100;
    if discounted >= 100 {
        discounted / 100 * 100 - 1
    } else {
        discounted
    }
}

/// 2-4 distinct option combinations (one option index per axis), in display order.
fn variant_combos(rng: &mut StdRng, axes: &[Axis]) -> Vec<Vec<usize>> {
    let total: usize = axes.iter().map(|a| a.options.len()).product();
    if axes.is_empty() || total < 2 {
        return Vec::new();
    }
    let wanted = rng.gen_range(2..=4).min(total);
    let mut flat = index::sample(rng, total, wanted).into_vec();
    flat.sort_unstable();
    flat.into_iter()
        .map(|mut f| {
            // Mixed-radix decode, last axis fastest: sorted combos group by the first axis.
            let mut combo = vec![0; axes.len()];
            for (slot, axis) in combo.iter_mut().zip(axes).rev() {
                *slot = f % axis.options.len();
                f /= axis.options.len();
            }
            combo
        })
        .collect()
}

fn variant(
    product: usize,
    product_sku: &str,
    axes: &[Axis],
    combo: &[usize],
    display_order: i32,
) -> VariantSeed {
    let options: Vec<_> = axes
        .iter()
        .zip(combo)
        .map(|(axis, &i)| (axis.key, &axis.options[i]))
        .collect();
    let mut attributes = Map::new();
    for (key, option) in &options {
        attributes.insert((*key).to_owned(), Value::String(option.label.to_owned()));
    }
    let codes: Vec<&str> = options.iter().map(|(_, o)| o.code).collect();
    let labels: Vec<&str> = options.iter().map(|(_, o)| o.label).collect();
    VariantSeed {
        product,
        sku: format!("{product_sku}-{}", codes.join("-")),
        name: labels.join(" / "),
        price_modifier: Decimal::new(options.iter().map(|(_, o)| o.extra_cents).sum(), 2),
        attributes: Value::Object(attributes),
        display_order,
    }
}

fn description(
    rng: &mut StdRng,
    department: &Department,
    name: &str,
    brand: &str,
    noun: &str,
    attributes: &Map<String, Value>,
) -> String {
    let fill = |template: &str| {
        template
            .replace("{name}", name)
            .replace("{brand}", brand)
            .replace("{noun}", &noun.to_lowercase())
    };
    let mut sentences = vec![fill(pick(rng, department.pitches))];
    let specs: Vec<String> = attributes
        .iter()
        .take(3)
        .filter_map(|(key, value)| Some(format!("{} {}", spec_label(key), value.as_str()?)))
        .collect();
    if specs.len() >= 2 {
        sentences.push(format!("Specifications: {}.", specs.join(", ")));
    }
    // 2-4 sentences in all.
    let closers = rng.gen_range(if sentences.len() == 2 { 0 } else { 1 }..=2);
    for closer in department.closers.choose_multiple(rng, closers) {
        sentences.push(fill(closer));
    }
    sentences.join(" ")
}

fn spec_label(key: &str) -> String {
    match key {
        "ram" => "RAM".to_owned(),
        "dpi" => "DPI".to_owned(),
        "gps" => "GPS".to_owned(),
        _ => key.replace('_', " "),
    }
}

/// 1-3 warehouses per purchasable unit; ~8% of units are sold out everywhere.
fn stock(
    rng: &mut StdRng,
    out: &mut Vec<InventorySeed>,
    product: usize,
    variant: Option<usize>,
    warehouse_pick: &WeightedIndex<u32>,
) {
    let wanted = [1usize, 1, 1, 1, 1, 1, 2, 2, 2, 3][rng.gen_range(0..10)];
    let mut chosen: Vec<usize> = Vec::with_capacity(wanted);
    while chosen.len() < wanted {
        let w = warehouse_pick.sample(rng);
        if !chosen.contains(&w) {
            chosen.push(w);
        }
    }
    let sold_out = rng.gen_ratio(2, 25);
    for warehouse in chosen {
        let quantity_total = if sold_out {
            0
        } else {
            match rng.gen_range(0..10) {
                0 => rng.gen_range(1..LOW_STOCK_THRESHOLD),
                1..=6 => rng.gen_range(LOW_STOCK_THRESHOLD..=200),
                _ => rng.gen_range(201..=500),
            }
        };
        out.push(InventorySeed {
            product,
            variant,
            warehouse,
            quantity_total,
        });
    }
}

/// ~40% of products get 1-5 reviews from distinct customers, ratings skewed to 4-5 stars.
fn reviews(rng: &mut StdRng, out: &mut Vec<ReviewSeed>, product: usize, product_age: i32) {
    if !rng.gen_ratio(2, 5) {
        return;
    }
    let count = [1usize, 1, 1, 2, 2, 2, 3, 3, 4, 5][rng.gen_range(0..10)];
    for customer in index::sample(rng, CUSTOMER_COUNT, count) {
        // 1★ 6%, 2★ 7%, 3★ 12%, 4★ 30%, 5★ 45%.
        let rating: i16 = match rng.gen_range(0..100) {
            0..=5 => 1,
            6..=12 => 2,
            13..=24 => 3,
            25..=54 => 4,
            _ => 5,
        };
        let star = (rating - 1) as usize;
        out.push(ReviewSeed {
            product,
            user: SELLER_COUNT + customer,
            rating,
            title: pick(rng, REVIEW_TITLES[star]).to_owned(),
            body: pick(rng, REVIEW_BODIES[star]).to_owned(),
            age_secs: rng.gen_range(0..=product_age),
        });
    }
}

#[cfg(test)]
#[path = "generate_tests.rs"]
mod tests;
