//! Static word lists behind the demo catalog: the department tree, brands, product nouns,
//! price ladders, attributes, variant axes, warehouses and review texts.
//!
//! Everything here is plain data; `generate.rs` draws from it with a seeded RNG, so changing a
//! list changes the catalog a given seed produces (nothing else depends on exact names).

/// A top-level department: its brands, how its products are named and its sub-tree.
pub struct Department {
    pub name: &'static str,
    pub brands: &'static [&'static str],
    pub naming: Naming,
    /// Opening sentences of descriptions; `{name}`, `{brand}` and `{noun}` are filled in.
    pub pitches: &'static [&'static str],
    /// Closing sentences of descriptions; `{brand}` is filled in.
    pub closers: &'static [&'static str],
    pub children: &'static [Node],
}

/// How a department's product names are built.
pub enum Naming {
    /// Brand + alphanumeric model + noun: "Nimbus X2 Wireless Headphones".
    Tech,
    /// Brand + a descriptive line word + noun: "Northwind Classic Cotton T-Shirt".
    Words(&'static [&'static str]),
    /// Books: "The Silent Harbor: A Novel" (the brand is the publisher).
    Title,
}

/// A category below a department. Products are only placed in leaves (no children), which
/// always carry a [`Kind`]; inner nodes carry none.
pub struct Node {
    pub name: &'static str,
    pub kind: Option<Kind>,
    pub children: &'static [Node],
}

/// What the products of a leaf category look like.
pub struct Kind {
    /// Product nouns, e.g. "Wireless Headphones".
    pub nouns: &'static [&'static str],
    /// Ascending whole-dollar price ladder: a segment is picked uniformly, then a price inside
    /// it, so cheap and premium items both appear without floating-point distributions.
    pub prices: &'static [i64],
    pub attributes: &'static [Attr],
    /// Dimensions a product's variants differ in (one or two).
    pub axes: &'static [Axis],
    /// Relative share of the catalog (books and fashion are long-tailed, TVs are not).
    pub weight: u32,
}

pub struct Attr {
    pub key: &'static str,
    pub values: &'static [&'static str],
}

pub struct Axis {
    pub key: &'static str,
    pub options: &'static [Opt],
}

/// One value of a variant axis: its label, its SKU code and its price modifier in cents.
pub struct Opt {
    pub label: &'static str,
    pub code: &'static str,
    pub extra_cents: i64,
}

const fn leaf(name: &'static str, kind: Kind) -> Node {
    Node {
        name,
        kind: Some(kind),
        children: &[],
    }
}

const fn group(name: &'static str, children: &'static [Node]) -> Node {
    Node {
        name,
        kind: None,
        children,
    }
}

const fn opt(label: &'static str, code: &'static str, extra_cents: i64) -> Opt {
    Opt {
        label,
        code,
        extra_cents,
    }
}

const fn attr(key: &'static str, values: &'static [&'static str]) -> Attr {
    Attr { key, values }
}

// ---- variant axes -------------------------------------------------------------------------

const TECH_COLOR: Axis = Axis {
    key: "color",
    options: &[
        opt("Black", "BLK", 0),
        opt("Silver", "SLV", 0),
        opt("Space Gray", "SGR", 0),
        opt("Blue", "BLU", 0),
        opt("White", "WHT", 0),
        opt("Green", "GRN", 0),
    ],
};
const PHONE_STORAGE: Axis = Axis {
    key: "storage",
    options: &[
        opt("128 GB", "128", 0),
        opt("256 GB", "256", 10_000),
        opt("512 GB", "512", 30_000),
        opt("1 TB", "1TB", 50_000),
    ],
};
const LAPTOP_STORAGE: Axis = Axis {
    key: "storage",
    options: &[
        opt("512 GB SSD", "512", 0),
        opt("1 TB SSD", "1TB", 15_000),
        opt("2 TB SSD", "2TB", 35_000),
    ],
};
const TV_SIZE: Axis = Axis {
    key: "screen_size",
    options: &[
        opt("43 in", "43", 0),
        opt("55 in", "55", 20_000),
        opt("65 in", "65", 50_000),
        opt("75 in", "75", 90_000),
    ],
};
const MONITOR_SIZE: Axis = Axis {
    key: "screen_size",
    options: &[
        opt("24 in", "24", 0),
        opt("27 in", "27", 8_000),
        opt("32 in", "32", 18_000),
    ],
};
const CAMERA_KIT: Axis = Axis {
    key: "kit",
    options: &[
        opt("Body Only", "BODY", 0),
        opt("With 18-55mm Lens", "K1855", 30_000),
        opt("With 24-105mm Lens", "K24105", 90_000),
    ],
};
const LENS_MOUNT: Axis = Axis {
    key: "mount",
    options: &[
        opt("E-mount", "EM", 0),
        opt("RF-mount", "RF", 0),
        opt("Z-mount", "ZM", 0),
        opt("X-mount", "XM", 0),
    ],
};
const WATCH_BAND: Axis = Axis {
    key: "band_size",
    options: &[opt("S/M", "SM", 0), opt("M/L", "ML", 0)],
};
const KEY_SWITCH: Axis = Axis {
    key: "switch_type",
    options: &[
        opt("Linear", "LIN", 0),
        opt("Tactile", "TAC", 0),
        opt("Clicky", "CLK", 0),
    ],
};
const DRIVE_CAPACITY: Axis = Axis {
    key: "capacity",
    options: &[
        opt("1 TB", "1TB", 0),
        opt("2 TB", "2TB", 4_000),
        opt("4 TB", "4TB", 11_000),
        opt("8 TB", "8TB", 24_000),
    ],
};
const PACK: Axis = Axis {
    key: "pack",
    options: &[
        opt("1-Pack", "1PK", 0),
        opt("2-Pack", "2PK", 12_000),
        opt("3-Pack", "3PK", 22_000),
    ],
};
const HOME_COLOR: Axis = Axis {
    key: "color",
    options: &[
        opt("Charcoal", "CHR", 0),
        opt("Cream", "CRM", 0),
        opt("Sage", "SAG", 0),
        opt("Terracotta", "TER", 0),
        opt("Navy", "NVY", 0),
        opt("Stainless", "SST", 0),
    ],
};
const BED_SIZE: Axis = Axis {
    key: "size",
    options: &[
        opt("Twin", "TW", 0),
        opt("Full", "FL", 1_000),
        opt("Queen", "QN", 2_000),
        opt("King", "KG", 3_000),
    ],
};
const APPAREL_COLOR: Axis = Axis {
    key: "color",
    options: &[
        opt("Black", "BLK", 0),
        opt("Navy", "NVY", 0),
        opt("Heather Grey", "HGR", 0),
        opt("Olive", "OLV", 0),
        opt("Burgundy", "BUR", 0),
        opt("White", "WHT", 0),
        opt("Beige", "BEI", 0),
    ],
};
const APPAREL_SIZE: Axis = Axis {
    key: "size",
    options: &[
        opt("XS", "XS", 0),
        opt("S", "S", 0),
        opt("M", "M", 0),
        opt("L", "L", 0),
        opt("XL", "XL", 0),
        opt("XXL", "XXL", 200),
    ],
};
const SHOE_SIZE: Axis = Axis {
    key: "size",
    options: &[
        opt("US 6", "6", 0),
        opt("US 7", "7", 0),
        opt("US 8", "8", 0),
        opt("US 9", "9", 0),
        opt("US 10", "10", 0),
        opt("US 11", "11", 0),
        opt("US 12", "12", 0),
    ],
};
const BOOK_FORMAT: Axis = Axis {
    key: "format",
    options: &[
        opt("Paperback", "PB", 0),
        opt("Hardcover", "HC", 800),
        opt("Large Print", "LP", 400),
        opt("Spiral-bound", "SB", 600),
    ],
};
const GEAR_COLOR: Axis = Axis {
    key: "color",
    options: &[
        opt("Black", "BLK", 0),
        opt("Forest Green", "FGR", 0),
        opt("Orange", "ORG", 0),
        opt("Slate Blue", "SBL", 0),
        opt("Red", "RED", 0),
    ],
};
const DUMBBELL_WEIGHT: Axis = Axis {
    key: "weight",
    options: &[
        opt("5 lb", "5LB", 0),
        opt("10 lb", "10LB", 1_000),
        opt("20 lb", "20LB", 2_500),
        opt("40 lb", "40LB", 5_500),
    ],
};
const FRAME_SIZE: Axis = Axis {
    key: "frame_size",
    options: &[
        opt("Small", "SM", 0),
        opt("Medium", "MD", 0),
        opt("Large", "LG", 0),
    ],
};
const BALL_SIZE: Axis = Axis {
    key: "size",
    options: &[
        opt("Size 3", "S3", 0),
        opt("Size 4", "S4", 0),
        opt("Size 5", "S5", 200),
    ],
};
const TOY_COLOR: Axis = Axis {
    key: "color",
    options: &[
        opt("Red", "RED", 0),
        opt("Blue", "BLU", 0),
        opt("Yellow", "YEL", 0),
        opt("Purple", "PUR", 0),
        opt("Green", "GRN", 0),
    ],
};
const PIECES: Axis = Axis {
    key: "pieces",
    options: &[
        opt("500 pieces", "500", 0),
        opt("1000 pieces", "1000", 500),
        opt("2000 pieces", "2000", 1_200),
    ],
};
const BOTTLE_SIZE: Axis = Axis {
    key: "size",
    options: &[
        opt("50 ml", "50ML", 0),
        opt("100 ml", "100ML", 1_500),
        opt("200 ml", "200ML", 2_800),
    ],
};
const SHADE: Axis = Axis {
    key: "shade",
    options: &[
        opt("Ivory", "IVO", 0),
        opt("Sand", "SND", 0),
        opt("Honey", "HNY", 0),
        opt("Caramel", "CRL", 0),
        opt("Espresso", "ESP", 0),
        opt("Rose", "ROS", 0),
    ],
};

// ---- the department tree ------------------------------------------------------------------

const TECH_PITCHES: &[&str] = &[
    "The {name} pairs {brand}'s latest engineering with controls that simply get out of your way.",
    "Built for people who expect more from a {noun}, the {name} delivers where it counts.",
    "Fast, reliable and refreshingly simple, this {noun} handles everyday work and play with ease.",
    "The {name} brings flagship features to a price that makes sense.",
];
const HOME_PITCHES: &[&str] = &[
    "The {name} makes everyday routines at home a little easier.",
    "{brand} designed this {noun} to look good on day one and keep working for years.",
    "Thoughtfully made and easy to care for, the {name} fits right into any home.",
];
const FASHION_PITCHES: &[&str] = &[
    "The {name} is a wardrobe staple you will reach for again and again.",
    "{brand} cut this {noun} for all-day comfort without giving up on style.",
    "Made to be worn hard and washed often, the {name} keeps its shape season after season.",
];
const BOOK_PITCHES: &[&str] = &[
    "{name} is the latest title from {brand}, and readers cannot put it down.",
    "A critically acclaimed read from {brand}, {name} rewards every page.",
    "Warm, sharp and beautifully written, {name} is a perfect pick for your next reading list.",
];
const SPORTS_PITCHES: &[&str] = &[
    "The {name} is built for training days, race days and everything in between.",
    "{brand} engineered this {noun} to keep up with you outdoors, whatever the weather.",
    "Lightweight and tough, the {name} is ready for your next adventure.",
];
const TOY_PITCHES: &[&str] = &[
    "The {name} turns any afternoon into hours of imaginative play.",
    "{brand} designed this {noun} to be fun for kids and easy on parents.",
    "Safe, sturdy and endlessly replayable, the {name} makes a great gift.",
];
const BEAUTY_PITCHES: &[&str] = &[
    "The {name} fits effortlessly into your daily routine.",
    "{brand} formulated this {noun} with gentle ingredients that work for all skin types.",
    "Dermatologist tested and cruelty free, the {name} leaves you looking and feeling your best.",
];

pub const DEPARTMENTS: &[Department] = &[
    Department {
        name: "Electronics",
        brands: &[
            "Apple",
            "Samsung",
            "Sony",
            "Nimbus",
            "Voltra",
            "Aurion",
            "Kestrel",
            "Lumio",
            "Zentek",
            "Orbix",
            "Pioneer Audio",
        ],
        naming: Naming::Tech,
        pitches: TECH_PITCHES,
        closers: CLOSERS,
        children: &[
            leaf(
                "Mobile Phones",
                Kind {
                    nouns: &["Smartphone", "5G Smartphone", "Foldable Smartphone"],
                    prices: &[149, 299, 499, 799, 1099, 1599],
                    attributes: &[
                        attr("screen_size", &["6.1 in", "6.4 in", "6.7 in", "6.9 in"]),
                        attr("ram", &["6 GB", "8 GB", "12 GB", "16 GB"]),
                        attr("connectivity", &["5G", "4G LTE"]),
                        attr("camera", &["48 MP", "50 MP", "108 MP", "200 MP"]),
                    ],
                    axes: &[TECH_COLOR, PHONE_STORAGE],
                    weight: 6,
                },
            ),
            group(
                "Headphones",
                &[
                    leaf(
                        "Over-Ear Headphones",
                        Kind {
                            nouns: &[
                                "Wireless Headphones",
                                "Noise Cancelling Headphones",
                                "Studio Headphones",
                            ],
                            prices: &[29, 79, 149, 249, 399, 549],
                            attributes: &[
                                attr(
                                    "connectivity",
                                    &["Bluetooth 5.3", "Bluetooth 5.0", "Wired 3.5 mm"],
                                ),
                                attr("battery_life", &["20 h", "30 h", "40 h", "60 h"]),
                                attr("noise_cancelling", &["Active", "Passive"]),
                            ],
                            axes: &[TECH_COLOR],
                            weight: 4,
                        },
                    ),
                    leaf(
                        "Earbuds",
                        Kind {
                            nouns: &[
                                "True Wireless Earbuds",
                                "Sport Earbuds",
                                "Noise Cancelling Earbuds",
                            ],
                            prices: &[19, 49, 99, 179, 279],
                            attributes: &[
                                attr("battery_life", &["6 h", "8 h", "10 h"]),
                                attr("water_resistance", &["IPX4", "IPX5", "IP57"]),
                            ],
                            axes: &[TECH_COLOR],
                            weight: 4,
                        },
                    ),
                ],
            ),
            group(
                "Cameras",
                &[
                    leaf(
                        "Digital Cameras",
                        Kind {
                            nouns: &["Mirrorless Camera", "Digital SLR Camera", "Compact Camera"],
                            prices: &[299, 699, 1199, 1799, 2799, 4499],
                            attributes: &[
                                attr(
                                    "sensor",
                                    &["Full-frame", "APS-C", "Micro Four Thirds", "1-inch"],
                                ),
                                attr("resolution", &["20 MP", "24 MP", "33 MP", "45 MP", "61 MP"]),
                                attr("video", &["4K 30p", "4K 60p", "8K 30p"]),
                            ],
                            axes: &[CAMERA_KIT],
                            weight: 2,
                        },
                    ),
                    leaf(
                        "Action Cameras",
                        Kind {
                            nouns: &["Action Camera", "360 Camera"],
                            prices: &[99, 199, 349, 549],
                            attributes: &[
                                attr("video", &["4K 60p", "5.3K 60p", "4K 120p"]),
                                attr("waterproof_depth", &["10 m", "18 m", "33 m"]),
                            ],
                            axes: &[TECH_COLOR],
                            weight: 1,
                        },
                    ),
                    leaf(
                        "Camera Lenses",
                        Kind {
                            nouns: &["Prime Lens", "Zoom Lens", "Macro Lens"],
                            prices: &[149, 449, 899, 1499, 2499],
                            attributes: &[
                                attr(
                                    "focal_length",
                                    &["35 mm", "50 mm", "85 mm", "24-70 mm", "70-200 mm"],
                                ),
                                attr("aperture", &["f/1.4", "f/1.8", "f/2.8", "f/4"]),
                            ],
                            axes: &[LENS_MOUNT],
                            weight: 1,
                        },
                    ),
                ],
            ),
            leaf(
                "Televisions",
                Kind {
                    nouns: &["4K Smart TV", "OLED TV", "QLED TV"],
                    prices: &[199, 449, 799, 1299, 1999, 3999],
                    attributes: &[
                        attr("resolution", &["4K UHD", "8K UHD", "Full HD"]),
                        attr("panel", &["OLED", "QLED", "LED", "Mini-LED"]),
                        attr("refresh_rate", &["60 Hz", "120 Hz", "144 Hz"]),
                    ],
                    axes: &[TV_SIZE],
                    weight: 3,
                },
            ),
            leaf(
                "Wearables",
                Kind {
                    nouns: &["Smartwatch", "Fitness Tracker", "GPS Sports Watch"],
                    prices: &[39, 129, 249, 399, 799],
                    attributes: &[
                        attr("battery_life", &["2 days", "7 days", "14 days"]),
                        attr("water_resistance", &["5 ATM", "10 ATM", "IP68"]),
                        attr("gps", &["Built-in", "Connected"]),
                    ],
                    axes: &[TECH_COLOR, WATCH_BAND],
                    weight: 3,
                },
            ),
        ],
    },
    Department {
        name: "Computers",
        brands: &[
            "Lenovo",
            "Asus",
            "Acer",
            "HP",
            "Nimbus",
            "Corvex",
            "Quantix",
            "Tessel",
            "Ardent",
            "Byteforge",
            "Keyline",
            "Logitech",
        ],
        naming: Naming::Tech,
        pitches: TECH_PITCHES,
        closers: CLOSERS,
        children: &[
            group(
                "Laptops",
                &[
                    leaf(
                        "Ultrabooks",
                        Kind {
                            nouns: &["Ultrabook", "Thin and Light Laptop"],
                            prices: &[549, 899, 1299, 1799, 2499],
                            attributes: &[
                                attr(
                                    "processor",
                                    &[
                                        "Intel Core i5",
                                        "Intel Core i7",
                                        "AMD Ryzen 5",
                                        "AMD Ryzen 7",
                                        "Apple M3",
                                    ],
                                ),
                                attr("ram", &["8 GB", "16 GB", "32 GB"]),
                                attr("screen_size", &["13.3 in", "14 in", "15.6 in"]),
                            ],
                            axes: &[TECH_COLOR, LAPTOP_STORAGE],
                            weight: 3,
                        },
                    ),
                    leaf(
                        "Gaming Laptops",
                        Kind {
                            nouns: &["Gaming Laptop"],
                            prices: &[799, 1199, 1699, 2399, 3499],
                            attributes: &[
                                attr(
                                    "processor",
                                    &["Intel Core i7", "Intel Core i9", "AMD Ryzen 9"],
                                ),
                                attr(
                                    "graphics",
                                    &["RTX 4060", "RTX 4070", "RTX 4080", "RTX 4090"],
                                ),
                                attr("ram", &["16 GB", "32 GB", "64 GB"]),
                                attr("refresh_rate", &["144 Hz", "165 Hz", "240 Hz"]),
                            ],
                            axes: &[LAPTOP_STORAGE],
                            weight: 2,
                        },
                    ),
                    leaf(
                        "2-in-1 Laptops",
                        Kind {
                            nouns: &["2-in-1 Laptop", "Convertible Laptop"],
                            prices: &[399, 699, 999, 1499],
                            attributes: &[
                                attr(
                                    "processor",
                                    &["Intel Core i5", "Intel Core i7", "AMD Ryzen 5"],
                                ),
                                attr("ram", &["8 GB", "16 GB"]),
                                attr("touchscreen", &["Yes"]),
                            ],
                            axes: &[TECH_COLOR, LAPTOP_STORAGE],
                            weight: 2,
                        },
                    ),
                ],
            ),
            leaf(
                "Monitors",
                Kind {
                    nouns: &["Monitor", "Gaming Monitor", "Curved Monitor"],
                    prices: &[119, 249, 449, 799, 1299],
                    attributes: &[
                        attr("resolution", &["1920x1080", "2560x1440", "3840x2160"]),
                        attr("refresh_rate", &["60 Hz", "144 Hz", "165 Hz", "240 Hz"]),
                        attr("panel", &["IPS", "VA", "OLED"]),
                    ],
                    axes: &[MONITOR_SIZE],
                    weight: 3,
                },
            ),
            leaf(
                "Keyboards",
                Kind {
                    nouns: &[
                        "Mechanical Keyboard",
                        "Wireless Keyboard",
                        "Low Profile Keyboard",
                    ],
                    prices: &[19, 49, 99, 179, 249],
                    attributes: &[
                        attr("layout", &["US ANSI", "UK ISO", "DE ISO"]),
                        attr(
                            "connectivity",
                            &["Wired USB-C", "Bluetooth", "2.4 GHz Wireless"],
                        ),
                        attr("form_factor", &["Full size", "TKL", "75%", "60%"]),
                    ],
                    axes: &[KEY_SWITCH, TECH_COLOR],
                    weight: 3,
                },
            ),
            leaf(
                "Mice",
                Kind {
                    nouns: &["Wireless Mouse", "Gaming Mouse", "Ergonomic Mouse"],
                    prices: &[9, 29, 59, 99, 159],
                    attributes: &[
                        attr("dpi", &["4000", "8000", "16000", "26000"]),
                        attr("connectivity", &["Wired", "Bluetooth", "2.4 GHz Wireless"]),
                    ],
                    axes: &[TECH_COLOR],
                    weight: 3,
                },
            ),
            leaf(
                "External Storage",
                Kind {
                    nouns: &["Portable SSD", "External Hard Drive", "NAS Drive"],
                    prices: &[39, 79, 149, 299, 599],
                    attributes: &[
                        attr("interface", &["USB-C 3.2", "Thunderbolt 4", "USB 3.0"]),
                        attr("read_speed", &["540 MB/s", "1050 MB/s", "2000 MB/s"]),
                    ],
                    axes: &[DRIVE_CAPACITY],
                    weight: 2,
                },
            ),
            leaf(
                "Networking",
                Kind {
                    nouns: &["Wi-Fi 6 Router", "Mesh Wi-Fi System", "Network Switch"],
                    prices: &[29, 79, 149, 299, 499],
                    attributes: &[
                        attr("standard", &["Wi-Fi 6", "Wi-Fi 6E", "Wi-Fi 7"]),
                        attr("ports", &["4", "5", "8"]),
                    ],
                    axes: &[PACK],
                    weight: 2,
                },
            ),
        ],
    },
    Department {
        name: "Home & Kitchen",
        brands: &[
            "Hearthwell",
            "Copperleaf",
            "Kitchara",
            "Brightnest",
            "Oakhaven",
            "Pureloft",
            "Simmer & Co",
            "Maplestone",
            "Casavia",
            "Ironwood",
        ],
        naming: Naming::Words(&[
            "Classic",
            "Essential",
            "Signature",
            "Deluxe",
            "Compact",
            "Premium",
            "Everyday",
            "Artisan",
            "Heritage",
        ]),
        pitches: HOME_PITCHES,
        closers: CLOSERS,
        children: &[
            leaf(
                "Cookware",
                Kind {
                    nouns: &[
                        "Nonstick Frying Pan",
                        "Cookware Set",
                        "Dutch Oven",
                        "Saucepan",
                    ],
                    prices: &[19, 49, 99, 199, 449],
                    attributes: &[
                        attr(
                            "material",
                            &[
                                "Stainless Steel",
                                "Cast Iron",
                                "Hard-Anodized Aluminum",
                                "Copper",
                            ],
                        ),
                        attr("dishwasher_safe", &["Yes", "No"]),
                        attr("induction_ready", &["Yes", "No"]),
                    ],
                    axes: &[HOME_COLOR],
                    weight: 4,
                },
            ),
            group(
                "Kitchen Appliances",
                &[
                    leaf(
                        "Coffee Machines",
                        Kind {
                            nouns: &[
                                "Espresso Machine",
                                "Drip Coffee Maker",
                                "Pod Coffee Machine",
                            ],
                            prices: &[29, 89, 199, 499, 999, 1799],
                            attributes: &[
                                attr("capacity", &["1 cup", "4 cups", "12 cups"]),
                                attr("power", &["900 W", "1200 W", "1500 W"]),
                            ],
                            axes: &[HOME_COLOR],
                            weight: 2,
                        },
                    ),
                    leaf(
                        "Blenders",
                        Kind {
                            nouns: &[
                                "Countertop Blender",
                                "Personal Blender",
                                "Immersion Blender",
                            ],
                            prices: &[19, 49, 99, 199, 449],
                            attributes: &[
                                attr("capacity", &["0.6 L", "1.5 L", "2 L"]),
                                attr("power", &["300 W", "700 W", "1400 W"]),
                            ],
                            axes: &[HOME_COLOR],
                            weight: 2,
                        },
                    ),
                    leaf(
                        "Air Fryers",
                        Kind {
                            nouns: &["Air Fryer", "Dual Basket Air Fryer", "Air Fryer Oven"],
                            prices: &[39, 79, 129, 229],
                            attributes: &[
                                attr("capacity", &["3.5 qt", "5.8 qt", "8 qt", "10 qt"]),
                                attr("power", &["1500 W", "1700 W"]),
                            ],
                            axes: &[HOME_COLOR],
                            weight: 2,
                        },
                    ),
                ],
            ),
            leaf(
                "Furniture",
                Kind {
                    nouns: &[
                        "Sofa",
                        "Dining Table",
                        "Bookshelf",
                        "Office Chair",
                        "Bed Frame",
                    ],
                    prices: &[79, 249, 599, 1099, 1799, 2999],
                    attributes: &[
                        attr(
                            "material",
                            &["Solid Oak", "Walnut Veneer", "Steel", "Linen", "Leather"],
                        ),
                        attr("assembly_required", &["Yes", "No"]),
                    ],
                    axes: &[HOME_COLOR],
                    weight: 3,
                },
            ),
            leaf(
                "Bedding",
                Kind {
                    nouns: &[
                        "Sheet Set",
                        "Duvet Cover",
                        "Down Alternative Comforter",
                        "Quilt",
                    ],
                    prices: &[19, 49, 89, 159, 299],
                    attributes: &[
                        attr("material", &["Cotton", "Linen", "Bamboo", "Microfiber"]),
                        attr("thread_count", &["300", "400", "600", "800"]),
                    ],
                    axes: &[BED_SIZE, HOME_COLOR],
                    weight: 3,
                },
            ),
            leaf(
                "Home Decor",
                Kind {
                    nouns: &[
                        "Table Lamp",
                        "Wall Mirror",
                        "Throw Blanket",
                        "Ceramic Vase",
                        "Area Rug",
                    ],
                    prices: &[12, 29, 69, 149, 399],
                    attributes: &[
                        attr("material", &["Ceramic", "Wool", "Brass", "Glass", "Jute"]),
                        attr(
                            "style",
                            &["Modern", "Mid-century", "Farmhouse", "Minimalist"],
                        ),
                    ],
                    axes: &[HOME_COLOR],
                    weight: 3,
                },
            ),
        ],
    },
    Department {
        name: "Fashion",
        brands: &[
            "Northwind",
            "Urban Thread",
            "Loomcraft",
            "Veloura",
            "Stride",
            "Harbor & Pine",
            "Kinfolk Denim",
            "Aster Lane",
            "Coastline",
            "Marlowe",
            "Redwood Supply",
        ],
        naming: Naming::Words(&[
            "Classic",
            "Slim Fit",
            "Relaxed",
            "Heritage",
            "Everyday",
            "Essential",
            "Vintage",
            "Performance",
            "Weekend",
        ]),
        pitches: FASHION_PITCHES,
        closers: CLOSERS,
        children: &[
            leaf(
                "Men's Clothing",
                Kind {
                    nouns: &[
                        "Cotton T-Shirt",
                        "Oxford Shirt",
                        "Chino Pants",
                        "Denim Jacket",
                        "Hoodie",
                        "Wool Sweater",
                    ],
                    prices: &[12, 29, 59, 99, 199],
                    attributes: &[
                        attr(
                            "material",
                            &[
                                "Cotton",
                                "Organic Cotton",
                                "Linen",
                                "Merino Wool",
                                "Denim",
                                "Polyester Blend",
                            ],
                        ),
                        attr("fit", &["Regular", "Slim", "Relaxed"]),
                        attr("care", &["Machine wash", "Hand wash", "Dry clean only"]),
                    ],
                    axes: &[APPAREL_SIZE, APPAREL_COLOR],
                    weight: 7,
                },
            ),
            leaf(
                "Women's Clothing",
                Kind {
                    nouns: &[
                        "Wrap Dress",
                        "Silk Blouse",
                        "High-Rise Jeans",
                        "Knit Cardigan",
                        "Trench Coat",
                        "Midi Skirt",
                    ],
                    prices: &[14, 34, 69, 129, 249],
                    attributes: &[
                        attr(
                            "material",
                            &["Cotton", "Silk", "Viscose", "Cashmere", "Denim", "Linen"],
                        ),
                        attr("fit", &["Regular", "Slim", "Oversized"]),
                        attr("care", &["Machine wash", "Hand wash", "Dry clean only"]),
                    ],
                    axes: &[APPAREL_SIZE, APPAREL_COLOR],
                    weight: 7,
                },
            ),
            group(
                "Shoes",
                &[
                    leaf(
                        "Sneakers",
                        Kind {
                            nouns: &["Running Shoes", "Canvas Sneakers", "Leather Sneakers"],
                            prices: &[29, 59, 99, 159, 229],
                            attributes: &[
                                attr("upper_material", &["Mesh", "Leather", "Canvas", "Knit"]),
                                attr("sole", &["Rubber", "EVA foam"]),
                            ],
                            axes: &[SHOE_SIZE, APPAREL_COLOR],
                            weight: 4,
                        },
                    ),
                    leaf(
                        "Boots",
                        Kind {
                            nouns: &["Chelsea Boots", "Hiking Boots", "Ankle Boots"],
                            prices: &[49, 99, 169, 259, 399],
                            attributes: &[
                                attr("upper_material", &["Suede", "Leather", "Nubuck"]),
                                attr("waterproof", &["Yes", "No"]),
                            ],
                            axes: &[SHOE_SIZE],
                            weight: 3,
                        },
                    ),
                ],
            ),
            leaf(
                "Watches",
                Kind {
                    nouns: &[
                        "Automatic Watch",
                        "Chronograph Watch",
                        "Dress Watch",
                        "Dive Watch",
                    ],
                    prices: &[39, 149, 399, 899, 1599, 3499],
                    attributes: &[
                        attr(
                            "case_material",
                            &["Stainless Steel", "Titanium", "Gold-tone", "Ceramic"],
                        ),
                        attr("movement", &["Automatic", "Quartz", "Solar"]),
                        attr("water_resistance", &["50 m", "100 m", "200 m"]),
                    ],
                    axes: &[APPAREL_COLOR],
                    weight: 2,
                },
            ),
            leaf(
                "Bags & Luggage",
                Kind {
                    nouns: &[
                        "Leather Tote",
                        "Carry-On Suitcase",
                        "Laptop Backpack",
                        "Crossbody Bag",
                    ],
                    prices: &[24, 59, 129, 249, 599],
                    attributes: &[
                        attr(
                            "material",
                            &["Full-grain Leather", "Nylon", "Polycarbonate", "Canvas"],
                        ),
                        attr("capacity", &["12 L", "22 L", "38 L", "65 L"]),
                    ],
                    axes: &[APPAREL_COLOR],
                    weight: 3,
                },
            ),
        ],
    },
    Department {
        name: "Books",
        brands: &[
            "Penrose Press",
            "Lanternlight Books",
            "Meridian House",
            "Quill & Ink",
            "Bluefield Publishing",
            "Harrow Books",
            "Starling Press",
            "Oxbow Editions",
            "Northgate Academic",
        ],
        naming: Naming::Title,
        pitches: BOOK_PITCHES,
        closers: BOOK_CLOSERS,
        children: &[
            leaf(
                "Fiction",
                Kind {
                    nouns: &["A Novel", "Stories", "A Thriller", "A Mystery"],
                    prices: &[8, 14, 22, 30],
                    attributes: &[
                        attr("language", &["English", "Spanish", "German", "French"]),
                        attr("pages", &["224", "312", "368", "448", "592"]),
                    ],
                    axes: &[BOOK_FORMAT],
                    weight: 8,
                },
            ),
            leaf(
                "Non-Fiction",
                Kind {
                    nouns: &["A History", "A Memoir", "Essays", "A Biography"],
                    prices: &[10, 16, 24, 35],
                    attributes: &[
                        attr("language", &["English", "Spanish", "German"]),
                        attr("pages", &["256", "320", "416", "512"]),
                    ],
                    axes: &[BOOK_FORMAT],
                    weight: 6,
                },
            ),
            leaf(
                "Children's Books",
                Kind {
                    nouns: &["A Picture Book", "An Adventure Story", "A Bedtime Story"],
                    prices: &[5, 9, 14, 20],
                    attributes: &[
                        attr(
                            "age_range",
                            &["0-3 years", "3-5 years", "6-8 years", "9-12 years"],
                        ),
                        attr("pages", &["32", "48", "96", "192"]),
                    ],
                    axes: &[BOOK_FORMAT],
                    weight: 4,
                },
            ),
            leaf(
                "Cookbooks",
                Kind {
                    nouns: &["A Cookbook", "Recipes for Every Day", "Baking at Home"],
                    prices: &[12, 19, 28, 40],
                    attributes: &[
                        attr(
                            "cuisine",
                            &["Italian", "Japanese", "Indian", "Mexican", "Vegetarian"],
                        ),
                        attr("pages", &["224", "288", "352"]),
                    ],
                    axes: &[BOOK_FORMAT],
                    weight: 3,
                },
            ),
            leaf(
                "Science & Technology",
                Kind {
                    nouns: &[
                        "A Practical Guide",
                        "An Introduction",
                        "The Handbook",
                        "A Field Guide",
                    ],
                    prices: &[15, 29, 49, 89],
                    attributes: &[
                        attr(
                            "subject",
                            &[
                                "Programming",
                                "Physics",
                                "Astronomy",
                                "Biology",
                                "Data Science",
                            ],
                        ),
                        attr("pages", &["288", "416", "624", "800"]),
                    ],
                    axes: &[BOOK_FORMAT],
                    weight: 4,
                },
            ),
        ],
    },
    Department {
        name: "Sports & Outdoors",
        brands: &[
            "Trailforge",
            "Apex Athletics",
            "Summitline",
            "Velocita",
            "IronPeak",
            "Riverbend Outdoor",
            "Kinetic",
            "Northridge",
            "Cascade Gear",
        ],
        naming: Naming::Words(&[
            "Pro",
            "Trail",
            "Endurance",
            "Summit",
            "Elite",
            "Sport",
            "Adventure",
            "Ridge",
        ]),
        pitches: SPORTS_PITCHES,
        closers: CLOSERS,
        children: &[
            leaf(
                "Fitness Equipment",
                Kind {
                    nouns: &[
                        "Adjustable Dumbbell",
                        "Kettlebell",
                        "Yoga Mat",
                        "Resistance Band Set",
                    ],
                    prices: &[14, 39, 99, 249, 599],
                    attributes: &[
                        attr(
                            "material",
                            &["Cast Iron", "Neoprene", "Natural Rubber", "TPE"],
                        ),
                        attr("use", &["Strength", "Yoga", "Mobility", "Cardio"]),
                    ],
                    axes: &[DUMBBELL_WEIGHT],
                    weight: 3,
                },
            ),
            group(
                "Camping & Hiking",
                &[
                    leaf(
                        "Tents",
                        Kind {
                            nouns: &["Backpacking Tent", "Family Camping Tent", "Ultralight Tent"],
                            prices: &[59, 149, 299, 549, 899],
                            attributes: &[
                                attr(
                                    "capacity",
                                    &["1 person", "2 person", "4 person", "6 person"],
                                ),
                                attr("seasons", &["3-season", "4-season"]),
                            ],
                            axes: &[GEAR_COLOR],
                            weight: 2,
                        },
                    ),
                    leaf(
                        "Backpacks",
                        Kind {
                            nouns: &["Hiking Backpack", "Daypack", "Trekking Pack"],
                            prices: &[29, 69, 149, 279],
                            attributes: &[
                                attr("capacity", &["20 L", "35 L", "50 L", "65 L"]),
                                attr("rain_cover", &["Included", "Not included"]),
                            ],
                            axes: &[GEAR_COLOR],
                            weight: 2,
                        },
                    ),
                    leaf(
                        "Sleeping Bags",
                        Kind {
                            nouns: &["Down Sleeping Bag", "Synthetic Sleeping Bag"],
                            prices: &[39, 99, 199, 449],
                            attributes: &[
                                attr("temperature_rating", &["-10 C", "-5 C", "0 C", "5 C"]),
                                attr("fill", &["Down", "Synthetic"]),
                            ],
                            axes: &[GEAR_COLOR],
                            weight: 1,
                        },
                    ),
                ],
            ),
            leaf(
                "Cycling",
                Kind {
                    nouns: &[
                        "Road Bike",
                        "Mountain Bike",
                        "Gravel Bike",
                        "Cycling Helmet",
                        "Bike Light Set",
                    ],
                    prices: &[24, 149, 499, 999, 1999, 3999],
                    attributes: &[
                        attr("frame_material", &["Aluminum", "Carbon", "Steel"]),
                        attr("gears", &["1x11", "2x11", "1x12", "2x12"]),
                    ],
                    axes: &[FRAME_SIZE, GEAR_COLOR],
                    weight: 3,
                },
            ),
            leaf(
                "Team Sports",
                Kind {
                    nouns: &["Soccer Ball", "Basketball", "Volleyball", "Rugby Ball"],
                    prices: &[9, 19, 39, 79, 149],
                    attributes: &[
                        attr("material", &["Synthetic Leather", "Rubber", "PU"]),
                        attr("level", &["Training", "Match", "Professional"]),
                    ],
                    axes: &[BALL_SIZE],
                    weight: 2,
                },
            ),
        ],
    },
    Department {
        name: "Toys & Games",
        brands: &[
            "Brickville",
            "PlayNest",
            "Wonderkin",
            "Tinker Tots",
            "Gamewright Co",
            "Zoomies",
            "Puzzlecraft",
            "Starbright Toys",
            "Moonbeam",
        ],
        naming: Naming::Words(&[
            "Junior",
            "Deluxe",
            "Mega",
            "Mini",
            "Classic",
            "Adventure",
            "Super",
            "Galaxy",
        ]),
        pitches: TOY_PITCHES,
        closers: CLOSERS,
        children: &[
            leaf(
                "Building Sets",
                Kind {
                    nouns: &[
                        "Building Set",
                        "Castle Building Kit",
                        "Space Station Set",
                        "Marble Run",
                    ],
                    prices: &[9, 24, 59, 129, 349],
                    attributes: &[
                        attr(
                            "age_range",
                            &["4+ years", "6+ years", "8+ years", "12+ years"],
                        ),
                        attr("piece_count", &["120", "450", "1200", "3000"]),
                    ],
                    axes: &[TOY_COLOR],
                    weight: 3,
                },
            ),
            leaf(
                "Board Games",
                Kind {
                    nouns: &[
                        "Strategy Board Game",
                        "Family Board Game",
                        "Card Game",
                        "Party Game",
                    ],
                    prices: &[9, 19, 39, 69, 129],
                    attributes: &[
                        attr("players", &["2-4", "2-6", "3-8", "1-5"]),
                        attr("play_time", &["20 min", "45 min", "90 min", "120 min"]),
                    ],
                    axes: &[PACK],
                    weight: 3,
                },
            ),
            leaf(
                "Dolls & Action Figures",
                Kind {
                    nouns: &["Action Figure", "Fashion Doll", "Plush Toy", "Doll House"],
                    prices: &[7, 15, 29, 59, 149],
                    attributes: &[
                        attr("age_range", &["3+ years", "5+ years", "8+ years"]),
                        attr("material", &["Vinyl", "Plush", "Wood", "Plastic"]),
                    ],
                    axes: &[TOY_COLOR],
                    weight: 3,
                },
            ),
            leaf(
                "Remote Control Toys",
                Kind {
                    nouns: &["RC Car", "Mini Drone", "RC Boat", "Robot Kit"],
                    prices: &[19, 49, 99, 199, 399],
                    attributes: &[
                        attr("range", &["30 m", "80 m", "150 m"]),
                        attr("battery", &["Rechargeable", "AA batteries"]),
                    ],
                    axes: &[TOY_COLOR],
                    weight: 2,
                },
            ),
            leaf(
                "Puzzles",
                Kind {
                    nouns: &["Jigsaw Puzzle", "3D Puzzle", "Brain Teaser Set"],
                    prices: &[7, 14, 24, 49],
                    attributes: &[
                        attr("theme", &["Landscape", "Animals", "Art", "Maps", "Space"]),
                        attr("age_range", &["6+ years", "10+ years", "Adults"]),
                    ],
                    axes: &[PIECES],
                    weight: 2,
                },
            ),
        ],
    },
    Department {
        name: "Beauty",
        brands: &[
            "Lumiere",
            "Velvetine",
            "Bloom & Glow",
            "Purely",
            "Aurora Skin",
            "Maison Reve",
            "Dermaluxe",
            "Silkroot",
            "Solstice",
        ],
        naming: Naming::Words(&[
            "Hydrating",
            "Radiance",
            "Daily",
            "Intensive",
            "Gentle",
            "Luxe",
            "Pure",
            "Botanical",
        ]),
        pitches: BEAUTY_PITCHES,
        closers: CLOSERS,
        children: &[
            leaf(
                "Skincare",
                Kind {
                    nouns: &[
                        "Face Moisturizer",
                        "Vitamin C Serum",
                        "Gel Cleanser",
                        "Night Cream",
                        "Sunscreen SPF 50",
                    ],
                    prices: &[6, 14, 29, 59, 129],
                    attributes: &[
                        attr(
                            "skin_type",
                            &["All", "Dry", "Oily", "Sensitive", "Combination"],
                        ),
                        attr("fragrance_free", &["Yes", "No"]),
                    ],
                    axes: &[BOTTLE_SIZE],
                    weight: 4,
                },
            ),
            leaf(
                "Makeup",
                Kind {
                    nouns: &[
                        "Liquid Foundation",
                        "Matte Lipstick",
                        "Concealer",
                        "Tinted Moisturizer",
                    ],
                    prices: &[5, 12, 24, 45, 79],
                    attributes: &[
                        attr("finish", &["Matte", "Satin", "Dewy", "Natural"]),
                        attr("coverage", &["Light", "Medium", "Full"]),
                    ],
                    axes: &[SHADE],
                    weight: 4,
                },
            ),
            leaf(
                "Hair Care",
                Kind {
                    nouns: &[
                        "Repair Shampoo",
                        "Conditioner",
                        "Hair Oil",
                        "Styling Cream",
                        "Hair Dryer",
                    ],
                    prices: &[6, 14, 29, 79, 349],
                    attributes: &[
                        attr(
                            "hair_type",
                            &["All", "Curly", "Fine", "Color-treated", "Dry"],
                        ),
                        attr("sulfate_free", &["Yes", "No"]),
                    ],
                    axes: &[BOTTLE_SIZE],
                    weight: 3,
                },
            ),
            leaf(
                "Fragrances",
                Kind {
                    nouns: &["Eau de Parfum", "Eau de Toilette", "Body Mist"],
                    prices: &[15, 39, 79, 139, 249],
                    attributes: &[
                        attr(
                            "scent_family",
                            &["Floral", "Woody", "Citrus", "Oriental", "Fresh"],
                        ),
                        attr("concentration", &["EDP", "EDT", "Parfum"]),
                    ],
                    axes: &[BOTTLE_SIZE],
                    weight: 2,
                },
            ),
        ],
    },
];

// ---- product names and descriptions -------------------------------------------------------

/// Tech model series ("Nimbus Aero S3 Smartphone").
pub const MODEL_SERIES: &[&str] = &[
    "Air", "Pro", "Max", "Ultra", "Neo", "Nova", "Edge", "Flex", "Zen", "Aero", "Vista", "Core",
    "Pulse", "Spark", "Volt", "Prime", "One", "Halo", "Orbit", "Quantum",
];
pub const MODEL_LETTERS: &[&str] = &["X", "S", "Z", "A", "G", "V", "T", "R"];

pub const TITLE_ADJECTIVES: &[&str] = &[
    "Silent",
    "Hidden",
    "Last",
    "Golden",
    "Broken",
    "Distant",
    "Midnight",
    "Forgotten",
    "Bright",
    "Endless",
    "Quiet",
    "Wild",
    "Lost",
    "Crimson",
    "Secret",
    "Little",
    "Northern",
    "Modern",
];
pub const TITLE_NOUNS: &[&str] = &[
    "River",
    "Garden",
    "Harbor",
    "Kingdom",
    "Letters",
    "Orchard",
    "Lighthouse",
    "Horizon",
    "Machine",
    "Empire",
    "Forest",
    "Island",
    "Season",
    "Compass",
    "Kitchen",
    "Stars",
    "Bridge",
];

/// Closing sentences of descriptions of goods; `{brand}` is filled in.
pub const CLOSERS: &[&str] = &[
    "Backed by a one-year limited warranty.",
    "Backed by a two-year limited warranty from {brand}.",
    "Ships in recyclable, plastic-free packaging.",
    "Free returns within 30 days of delivery.",
    "Thousands of shoppers rely on {brand} every day.",
    "Easy to set up and built to last.",
    "A customer favourite and one of our best sellers.",
];

pub const BOOK_CLOSERS: &[&str] = &[
    "A perfect gift for any reader.",
    "Printed on responsibly sourced paper.",
    "Free returns within 30 days of delivery.",
    "A book club favourite this season.",
    "One of the best-selling titles from {brand}.",
];

/// Review titles and bodies by rating (index 0 is one star).
pub const REVIEW_TITLES: [&[&str]; 5] = [
    &["Stopped working", "Do not buy", "Very disappointed"],
    &["Not great", "Below expectations", "Had issues"],
    &["It's okay", "Decent for the price", "Mixed feelings"],
    &["Very good", "Great value", "Solid choice", "Happy with it"],
    &[
        "Excellent!",
        "Love it",
        "Exceeded expectations",
        "Highly recommend",
        "Five stars",
    ],
];
pub const REVIEW_BODIES: [&[&str]; 5] = [
    &[
        "Broke within two weeks and support was slow to answer.",
        "Nothing like the pictures. Returned it the same day.",
    ],
    &[
        "Works, but the build quality feels cheap for what it costs.",
        "Arrived late and one part was missing. It does the job now.",
    ],
    &[
        "Does what it says, nothing more. Fine if it is on sale.",
        "Good in some ways, annoying in others. Still deciding.",
    ],
    &[
        "Really good overall. One or two small niggles, but I would buy it again.",
        "Well made and arrived quickly. Great value for money.",
    ],
    &[
        "Absolutely love it. Quality is outstanding and it arrived early.",
        "Exactly what I wanted. I have already recommended it to friends.",
        "Best purchase I have made this year. Works perfectly.",
    ],
];

// ---- people, sellers and warehouses -------------------------------------------------------

pub const FIRST_NAMES: &[&str] = &[
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Elijah", "Sophia", "James", "Isabella", "Lucas",
    "Mia", "Mateo", "Amelia", "Arjun", "Priya", "Wei", "Mei", "Hiroshi", "Yuki", "Fatima", "Omar",
    "Aisha", "Carlos", "Lucia", "Sofia", "Lena", "Jonas", "Anna", "Ravi", "Ananya", "Chloe",
    "Ethan", "Grace", "Daniel", "Zoe", "Samuel", "Hannah", "David", "Nora", "Leo",
];
pub const LAST_NAMES: &[&str] = &[
    "Smith", "Johnson", "Williams", "Brown", "Garcia", "Miller", "Davis", "Martinez", "Lopez",
    "Wilson", "Anderson", "Taylor", "Thomas", "Moore", "Jackson", "Patel", "Sharma", "Singh",
    "Chen", "Wang", "Kim", "Nguyen", "Tanaka", "Sato", "Muller", "Schmidt", "Rossi", "Silva",
    "Okafor", "Haddad", "Cohen", "Novak", "Kowalski", "Dubois", "Jensen", "OBrien", "Murphy",
];

/// Display names of the five demo marketplace sellers (seller1..seller5).
pub const SELLER_NAMES: &[&str] = &[
    "Northwind Traders",
    "Bluebird Goods",
    "Summit Supply Co.",
    "Lotus Bazaar",
    "Harborview Outlet",
];

pub struct Warehouse {
    pub code: &'static str,
    pub name: &'static str,
    pub country: &'static str,
    pub state: &'static str,
    pub postal_code: &'static str,
    /// Micro-degrees (6 decimal places, the column's scale): exact, no floats involved.
    pub latitude_e6: i64,
    pub longitude_e6: i64,
    /// Relative chance a unit is stocked here (the US carries most of the catalog).
    pub weight: u32,
}

pub const WAREHOUSES: &[Warehouse] = &[
    Warehouse {
        code: "WH-US-EAST",
        name: "Edison Fulfillment Center",
        country: "US",
        state: "NJ",
        postal_code: "08817",
        latitude_e6: 40_518_700,
        longitude_e6: -74_411_600,
        weight: 30,
    },
    Warehouse {
        code: "WH-US-WEST",
        name: "Tracy Fulfillment Center",
        country: "US",
        state: "CA",
        postal_code: "95304",
        latitude_e6: 37_739_700,
        longitude_e6: -121_425_200,
        weight: 25,
    },
    Warehouse {
        code: "WH-US-SOUTH",
        name: "Dallas Fulfillment Center",
        country: "US",
        state: "TX",
        postal_code: "75241",
        latitude_e6: 32_672_900,
        longitude_e6: -96_776_700,
        weight: 15,
    },
    Warehouse {
        code: "WH-EU-DE",
        name: "Leipzig Logistics Hub",
        country: "DE",
        state: "Saxony",
        postal_code: "04159",
        latitude_e6: 51_339_700,
        longitude_e6: 12_373_100,
        weight: 12,
    },
    Warehouse {
        code: "WH-EU-GB",
        name: "Coventry Fulfilment Centre",
        country: "GB",
        state: "England",
        postal_code: "CV6 4QJ",
        latitude_e6: 52_406_800,
        longitude_e6: -1_519_700,
        weight: 10,
    },
    Warehouse {
        code: "WH-AP-IN",
        name: "Bengaluru Fulfillment Center",
        country: "IN",
        state: "Karnataka",
        postal_code: "562123",
        latitude_e6: 13_198_600,
        longitude_e6: 77_706_600,
        weight: 8,
    },
];
