//! The command line: `serve`, `migrate`, `seed`, `recover`, `reconcile`, `user create` and
//! `user load-test-buyers`.

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use shared_model::auth::Role;
use shared_model::users::{Email, Password, parse_name};

use crate::auth::password;
use crate::checkout::jobs;
use crate::config::Config;
use crate::seed::{SeedOptions, seed_catalog};
use crate::startup::{self, MIGRATOR};
use crate::users::store::{self, NewUser};

#[derive(Debug, Parser)]
#[command(name = "edgeshop-core", version, about = "edgeshop's regional core")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run migrations, then serve the API on EDGESHOP_BIND.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Fill the database with a realistic demo catalog (skipped if products exist).
    Seed {
        /// How many products to create.
        #[arg(long, default_value_t = 1000)]
        products: u32,
        /// Delete the existing catalog and demo users first.
        #[arg(long)]
        reset: bool,
        /// The random seed: the same seed builds the same catalog.
        #[arg(long, default_value_t = 2024)]
        rng_seed: u64,
    },
    /// Once: release expired checkouts, then continue or compensate sagas stuck longer than
    /// EDGESHOP_SAGA_STUCK_AFTER_SECONDS (or --stuck-after-seconds).
    Recover {
        #[arg(long)]
        stuck_after_seconds: Option<u64>,
    },
    /// Once: reconcile reservations, payments and orders across the stores.
    Reconcile,
    /// Manage accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account with a role (and, for sellers, its seller profile).
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: String,
        /// customer, seller or admin.
        #[arg(long, default_value = "customer")]
        role: String,
        #[arg(long, default_value = "edgeshop")]
        first_name: String,
        #[arg(long, default_value = "")]
        last_name: String,
        /// Succeed without changes when the email already has an account.
        #[arg(long)]
        if_missing: bool,
    },
    /// Create many signed-in customers for a load test (each with an address and a session)
    /// and write `userId,addressId,token` lines to --out. Refused in production.
    LoadTestBuyers {
        #[arg(long)]
        count: usize,
        /// Their emails are <prefix>-<n>@loadtest.edgeshop.local.
        #[arg(long, default_value = "buyer")]
        prefix: String,
        #[arg(long)]
        out: std::path::PathBuf,
    },
}

pub async fn run(cli: Cli, config: Config) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve => startup::serve(config).await,
        Command::Migrate => {
            let db = startup::connect_db(&config).await?;
            MIGRATOR.run(&db).await.context("running migrations")?;
            println!("migrations applied");
            Ok(())
        }
        Command::Seed {
            products,
            reset,
            rng_seed,
        } => {
            let db = startup::connect_db(&config).await?;
            MIGRATOR.run(&db).await.context("running migrations")?;
            let report = seed_catalog(
                &db,
                &SeedOptions {
                    products,
                    reset,
                    rng_seed,
                },
            )
            .await?;
            if report.skipped {
                println!("catalog already seeded; nothing done (use --reset to rebuild it)");
            } else {
                println!(
                    "seeded {} products ({} variants, {} images, {} stock rows, {} reviews) in {} categories, {} warehouses, for {} sellers in {:.1}s",
                    report.products,
                    report.variants,
                    report.images,
                    report.inventory_rows,
                    report.reviews,
                    report.categories,
                    report.warehouses,
                    report.sellers,
                    report.elapsed.as_secs_f64()
                );
            }
            Ok(())
        }
        Command::Recover {
            stuck_after_seconds,
        } => {
            let stuck_after = stuck_after_seconds
                .map(std::time::Duration::from_secs)
                .unwrap_or(config.saga_stuck_after);
            let state = startup::build_state(config).await?;
            MIGRATOR
                .run(&state.db)
                .await
                .context("running migrations")?;
            let swept = jobs::sweep_expired(&state)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let recovered = jobs::recover_stuck(&state, stuck_after)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "expired checkouts released: {}; reservations without a saga released: {}; holds repaired: {}; sagas recovered: {}; failures: {}",
                swept.expired_checkouts,
                swept.orphan_reservations,
                swept.repaired_holds,
                recovered.recovered_sagas,
                swept.failed + recovered.failed
            );
            if swept.failed + recovered.failed > 0 {
                bail!("some sagas could not be recovered; see the log");
            }
            Ok(())
        }
        Command::Reconcile => {
            let state = startup::build_state(config).await?;
            MIGRATOR
                .run(&state.db)
                .await
                .context("running migrations")?;
            let report = jobs::reconcile(&state)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "orphaned reservations released: {}; sagas settled: {}; failures: {}",
                report.orphan_reservations, report.recovered_sagas, report.failed
            );
            if report.failed > 0 {
                bail!("some records could not be reconciled; see the log");
            }
            Ok(())
        }
        Command::User {
            command: UserCommand::LoadTestBuyers { count, prefix, out },
        } => {
            let db = startup::connect_db(&config).await?;
            MIGRATOR.run(&db).await.context("running migrations")?;
            let started = std::time::Instant::now();
            let written =
                crate::users::load_test_buyers::create(&db, &config, count, &prefix, &out).await?;
            println!(
                "created {written} load-test buyers in {:.1}s; tokens in {}",
                started.elapsed().as_secs_f64(),
                out.display()
            );
            Ok(())
        }
        Command::User {
            command:
                UserCommand::Create {
                    email,
                    password: typed,
                    role,
                    first_name,
                    last_name,
                    if_missing,
                },
        } => {
            let db = startup::connect_db(&config).await?;
            MIGRATOR.run(&db).await.context("running migrations")?;
            let email = Email::parse(&email)?;
            let role: Role = role.parse()?;
            let first_name = parse_name("firstName", &first_name)?;
            let exists: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE email = $1)")
                    .bind(email.as_str())
                    .fetch_one(&db)
                    .await?;
            if exists {
                if if_missing {
                    println!("{email} already has an account; left unchanged");
                    return Ok(());
                }
                bail!("{email} already has an account");
            }
            let password_hash = password::hash(Password::parse(&typed)?).await?;
            let mut tx = db.begin().await?;
            let user = store::insert_user(
                &mut *tx,
                &NewUser {
                    email: email.as_str(),
                    password_hash: &password_hash,
                    first_name: &first_name,
                    last_name: last_name.trim(),
                    role,
                },
            )
            .await
            .map_err(|e| anyhow::anyhow!("creating the user: {e}"))?;
            if role == Role::Seller {
                sqlx::query("INSERT INTO sellers (user_id, display_name) VALUES ($1, $2)")
                    .bind(user.user_id.get())
                    .bind(format!("{first_name}'s shop"))
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            println!(
                "created {} {} (user {})",
                role.as_str().to_lowercase(),
                email,
                user.user_id
            );
            Ok(())
        }
    }
}
