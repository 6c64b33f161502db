"""The operator's admin API (`/admin/v1`): its routes and OpenAPI document (`api`), its wire types
(`wire`). See docs/admin-api.md."""
