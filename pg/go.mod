module github.com/durable-go/durable/pg

go 1.26.0

replace github.com/durable-go/durable => ../

require (
	github.com/durable-go/durable v0.0.0-00010101000000-000000000000
	github.com/jackc/pgx/v5 v5.13.0
	golang.org/x/oauth2 v0.37.0
)

require (
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	github.com/jackc/puddle/v2 v2.2.3 // indirect
	golang.org/x/mod v0.42.0 // indirect
	golang.org/x/sync v0.22.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/text v0.41.0 // indirect
)
