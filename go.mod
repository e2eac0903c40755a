module github.com/clonebay/clonebay

go 1.26.0

require (
	github.com/stretchr/testify v1.12.1
	go.yaml.in/yaml/v3 v3.0.5
)

require github.com/cespare/xxhash/v2 v2.3.0

require (
	github.com/d2r2/go-hd44780 v0.0.0-20181002113701-74cc28c83a3e
	github.com/d2r2/go-i2c v0.0.0-20191123181816-73a8a799d6bc
	github.com/d2r2/go-logger v0.0.0-20210606094344-60e9d1233e22
	github.com/jackc/pgx/v5 v5.12.0
	github.com/go-pdf/fpdf v0.9.0
	github.com/jochenvg/go-udev v0.0.0-20240801134859-b65ed646224b
	github.com/klauspost/compress v1.18.5
	github.com/op/go-logging v0.0.0-20160315200505-970db520ece7
	github.com/ulikunitz/xz v0.5.15
	github.com/zeebo/xxh3 v1.1.0
	golang.org/x/sync v0.22.0
	golang.org/x/sys v0.49.0
	golang.org/x/term v0.37.0
	periph.io/x/conn/v3 v3.7.2
	periph.io/x/host/v3 v3.8.5
)

require (
	github.com/davecgh/go-spew v1.1.1 // indirect
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	github.com/jkeiser/iter v0.0.0-20200628201005-c8aa0ae784d1 // indirect
	github.com/jonboulle/clockwork v0.4.0 // indirect
	github.com/klauspost/cpuid/v2 v2.2.10 // indirect
	golang.org/x/text v0.41.0 // indirect
)
