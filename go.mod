module github.com/clonebay/clonebay

go 1.26.0

require (
	github.com/stretchr/testify v1.12.1
	go.yaml.in/yaml/v3 v3.0.5
)

require github.com/cespare/xxhash/v2 v2.3.0

require (
	github.com/jochenvg/go-udev v0.0.0-20240801134859-b65ed646224b
	golang.org/x/sys v0.49.0
)

require github.com/jkeiser/iter v0.0.0-20200628201005-c8aa0ae784d1 // indirect
