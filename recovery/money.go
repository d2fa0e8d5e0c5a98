package recovery

import (
	"strconv"
	"strings"
)

// currencyExponent is ISO 4217's minor-unit exponent for the currencies that differ from 2.
var currencyExponent = map[string]int{
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
	"RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}

// MinorUnits converts a decimal major-unit amount ("22.5") to minor units
// (2250 for USD) in exact decimal arithmetic, refusing more precision than the currency has.
func MinorUnits(decimal, currency string) (int64, error) {
	exp, ok := currencyExponent[strings.ToUpper(currency)]
	if !ok {
		exp = 2
	}
	s := strings.TrimSpace(decimal)
	if s == "" || strings.HasPrefix(s, "-") {
		return 0, malformed("amount %q is not a positive decimal", decimal)
	}
	whole, frac, _ := strings.Cut(s, ".")
	frac = strings.TrimRight(frac, "0")
	if len(frac) > exp {
		return 0, malformed("amount %q has more decimals than %s allows", decimal, currency)
	}
	frac += strings.Repeat("0", exp-len(frac))
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil {
		return 0, malformed("amount %q is not a decimal", decimal)
	}
	return n, nil
}
