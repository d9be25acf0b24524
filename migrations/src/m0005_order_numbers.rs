//! Order numbers from a sequence on PostgreSQL: `orders.number` defaults to
//! `next_order_number()`, so placing an order neither locks a counter row
//! until commit (checkouts no longer queue behind each other) nor spends a
//! round trip on it. The sequence continues from the `order` counter.
//! SQLite keeps the counter row: its writers take turns anyway.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &str = r#"
CREATE SEQUENCE IF NOT EXISTS order_numbers;
SELECT setval('order_numbers', COALESCE((SELECT value FROM counters WHERE name = 'order'), 0) + 1, false);
CREATE OR REPLACE FUNCTION next_order_number() RETURNS text LANGUAGE sql VOLATILE AS $$
    SELECT 'ATV-' || to_char(now() AT TIME ZONE 'UTC', 'YYYY') || '-'
        || lpad(n::text, greatest(6, length(n::text)), '0')
    FROM nextval('order_numbers') AS n
$$;
ALTER TABLE orders ALTER COLUMN number SET DEFAULT next_order_number();
"#;

const DOWN: &str = r#"
ALTER TABLE orders ALTER COLUMN number DROP DEFAULT;
DROP FUNCTION IF EXISTS next_order_number();
UPDATE counters SET value = GREATEST(value, (SELECT last_value FROM order_numbers)) WHERE name = 'order';
DROP SEQUENCE IF EXISTS order_numbers;
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            manager.get_connection().execute_unprepared(UP).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            manager.get_connection().execute_unprepared(DOWN).await?;
        }
        Ok(())
    }
}
