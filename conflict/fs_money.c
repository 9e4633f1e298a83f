/*
 * fs_money.c - ISO 4217 currencies and money as people read and type it.
 *
 * Amounts are stored and synced as integer minor units of their currency
 * (cents, yen, fils) and discounts as basis points; this file is the one
 * place that knows how many decimals a currency has and how to turn minor
 * units into text and back. Text is never locale-dependent: the decimal
 * separator is always '.', and grouping on output is always ','. Pure C,
 * no I/O, shared by the field client, the server and the console's data.
 */
#include "fs_conflict.h"

#include <stdio.h>
#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ISO 4217 alphabetic codes in circulation with their minor-unit exponent
 * (sorted by code, for binary search). */
static const struct currency {
    char code[4];
    unsigned char exponent;
} currencies[] = {
    {"AED", 2}, {"AFN", 2}, {"ALL", 2}, {"AMD", 2}, {"ANG", 2}, {"AOA", 2},
    {"ARS", 2}, {"AUD", 2}, {"AWG", 2}, {"AZN", 2}, {"BAM", 2}, {"BBD", 2},
    {"BDT", 2}, {"BGN", 2}, {"BHD", 3}, {"BIF", 0}, {"BMD", 2}, {"BND", 2},
    {"BOB", 2}, {"BRL", 2}, {"BSD", 2}, {"BTN", 2}, {"BWP", 2}, {"BYN", 2},
    {"BZD", 2}, {"CAD", 2}, {"CDF", 2}, {"CHF", 2}, {"CLP", 0}, {"CNY", 2},
    {"COP", 2}, {"CRC", 2}, {"CUP", 2}, {"CVE", 2}, {"CZK", 2}, {"DJF", 0},
    {"DKK", 2}, {"DOP", 2}, {"DZD", 2}, {"EGP", 2}, {"ERN", 2}, {"ETB", 2},
    {"EUR", 2}, {"FJD", 2}, {"FKP", 2}, {"GBP", 2}, {"GEL", 2}, {"GHS", 2},
    {"GIP", 2}, {"GMD", 2}, {"GNF", 0}, {"GTQ", 2}, {"GYD", 2}, {"HKD", 2},
    {"HNL", 2}, {"HTG", 2}, {"HUF", 2}, {"IDR", 2}, {"ILS", 2}, {"INR", 2},
    {"IQD", 3}, {"IRR", 2}, {"ISK", 0}, {"JMD", 2}, {"JOD", 3}, {"JPY", 0},
    {"KES", 2}, {"KGS", 2}, {"KHR", 2}, {"KMF", 0}, {"KPW", 2}, {"KRW", 0},
    {"KWD", 3}, {"KYD", 2}, {"KZT", 2}, {"LAK", 2}, {"LBP", 2}, {"LKR", 2},
    {"LRD", 2}, {"LSL", 2}, {"LYD", 3}, {"MAD", 2}, {"MDL", 2}, {"MGA", 2},
    {"MKD", 2}, {"MMK", 2}, {"MNT", 2}, {"MOP", 2}, {"MRU", 2}, {"MUR", 2},
    {"MVR", 2}, {"MWK", 2}, {"MXN", 2}, {"MYR", 2}, {"MZN", 2}, {"NAD", 2},
    {"NGN", 2}, {"NIO", 2}, {"NOK", 2}, {"NPR", 2}, {"NZD", 2}, {"OMR", 3},
    {"PAB", 2}, {"PEN", 2}, {"PGK", 2}, {"PHP", 2}, {"PKR", 2}, {"PLN", 2},
    {"PYG", 0}, {"QAR", 2}, {"RON", 2}, {"RSD", 2}, {"RUB", 2}, {"RWF", 0},
    {"SAR", 2}, {"SBD", 2}, {"SCR", 2}, {"SDG", 2}, {"SEK", 2}, {"SGD", 2},
    {"SHP", 2}, {"SLE", 2}, {"SOS", 2}, {"SRD", 2}, {"SSP", 2}, {"STN", 2},
    {"SVC", 2}, {"SYP", 2}, {"SZL", 2}, {"THB", 2}, {"TJS", 2}, {"TMT", 2},
    {"TND", 3}, {"TOP", 2}, {"TRY", 2}, {"TTD", 2}, {"TWD", 2}, {"TZS", 2},
    {"UAH", 2}, {"UGX", 0}, {"USD", 2}, {"UYU", 2}, {"UZS", 2}, {"VES", 2},
    {"VND", 0}, {"VUV", 0}, {"WST", 2}, {"XAF", 0}, {"XCD", 2}, {"XOF", 0},
    {"XPF", 0}, {"YER", 2}, {"ZAR", 2}, {"ZMW", 2}, {"ZWL", 2},
};

/* The few symbols that read unambiguously in a sales team's reports; every
 * other currency is shown by its code. */
static const struct symbol {
    char code[4];
    const char *sym;
} symbols[] = {
    {"CNY", "CN\u00a5"}, {"EUR", "\u20ac"}, {"GBP", "\u00a3"},
    {"INR", "\u20b9"}, {"JPY", "\u00a5"}, {"KRW", "\u20a9"},
    {"USD", "$"},
};

static const struct currency *find(const char *s, size_t len)
{
    size_t lo = 0, hi = N(currencies);

    if (!s || len != 3)
        return NULL;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = memcmp(s, currencies[mid].code, 3);
        if (c == 0)
            return &currencies[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

bool fs_currency_valid(const char *s, size_t len)
{
    return find(s, len) != NULL;
}

int fs_currency_exponent(const char *code)
{
    const struct currency *c = code ? find(code, strlen(code)) : NULL;

    return c ? c->exponent : -1;
}

bool fs_currency_normalise(const char *in, char out[4])
{
    size_t i;

    if (!in || strlen(in) != 3)
        return false;
    for (i = 0; i < 3; i++) {
        char ch = in[i];
        if (ch >= 'a' && ch <= 'z')
            ch = (char)(ch - 'a' + 'A');
        out[i] = ch;
    }
    out[3] = '\0';
    return find(out, 3) != NULL;
}

static int64_t pow10i(int e)
{
    int64_t p = 1;

    while (e-- > 0)
        p *= 10;
    return p;
}

/* Appends the decimal digits of v (>= 0) with ',' between groups of three. */
static size_t grouped(uint64_t v, char *out)
{
    char rev[32];
    size_t n = 0, k = 0;

    do {
        if (n && n % 3 == 0)
            rev[k++] = ',';
        rev[k++] = (char)('0' + v % 10);
        v /= 10;
        n++;
    } while (v);
    for (n = 0; n < k; n++)
        out[n] = rev[k - 1 - n];
    return k;
}

size_t fs_money_format(int64_t minor, const char *currency,
                       fs_money_style style, char *out, size_t cap)
{
    char num[64], frac[8] = "";
    const char *sym = NULL;
    int e = fs_currency_exponent(currency);
    uint64_t mag = minor < 0 ? (uint64_t)0 - (uint64_t)minor : (uint64_t)minor;
    uint64_t unit;
    size_t n, i;
    int w;

    if (e < 0)
        e = 0; /* unknown currency: the integer as it is stored */
    unit = (uint64_t)pow10i(e);
    n = grouped(mag / unit, num);
    num[n] = '\0';
    if (e > 0) { /* e <= 3: the table's largest exponent */
        uint64_t f = mag % unit;
        frac[0] = '.';
        for (i = (size_t)e; i > 0; i--, f /= 10)
            frac[i] = (char)('0' + f % 10);
        frac[e + 1] = '\0';
    }
    if (style == FS_MONEY_SYMBOL && currency)
        for (i = 0; i < N(symbols); i++)
            if (strcmp(symbols[i].code, currency) == 0)
                sym = symbols[i].sym;
    if (sym)
        w = snprintf(out, cap, "%s%s%s%s", minor < 0 ? "-" : "", sym, num, frac);
    else
        w = snprintf(out, cap, "%s%s%s%s%s", minor < 0 ? "-" : "",
                     currency ? currency : "", currency ? " " : "", num, frac);
    return w < 0 ? 0 : (size_t)w;
}

/* Parses "digits[.digits]" with at most `decimals` decimals into a scaled
 * integer: "39.5" with 2 decimals is 3950. Overflow-checked. */
static fs_status scaled(const char *text, int decimals, int64_t *out,
                        const char *what, fs_error *err)
{
    const char *p = text;
    int64_t v = 0;
    int fd = -1, nd = 0;

    if (!p || !*p)
        return (fs_status)fs_error_set(err, FS_ERANGE, "%s: empty", what);
    for (; *p; p++) {
        if (*p == '.' && fd < 0) {
            fd = 0;
            continue;
        }
        if (*p < '0' || *p > '9')
            return (fs_status)fs_error_set(
                err, FS_ERANGE, "%s '%.40s': write digits with '.' before the decimals, "
                "e.g. 1256.29", what, text);
        if (fd >= 0 && ++fd > decimals)
            return (fs_status)fs_error_set(
                err, FS_ERANGE, "%s '%.40s' has more than %d decimal%s", what, text,
                decimals, decimals == 1 ? "" : "s");
        if (v > (INT64_MAX - 9) / 10)
            return (fs_status)fs_error_set(err, FS_EOVERFLOW, "%s '%.40s' is too large",
                                           what, text);
        v = v * 10 + (*p - '0');
        nd++;
    }
    if (!nd)
        return (fs_status)fs_error_set(err, FS_ERANGE, "%s '%.40s' has no digits",
                                       what, text);
    for (fd = fd < 0 ? 0 : fd; fd < decimals; fd++) {
        if (v > INT64_MAX / 10)
            return (fs_status)fs_error_set(err, FS_EOVERFLOW, "%s '%.40s' is too large",
                                           what, text);
        v *= 10;
    }
    *out = v;
    return FS_OK;
}

fs_status fs_money_parse(const char *text, const char *currency, int64_t *minor,
                         fs_error *err)
{
    int e = fs_currency_exponent(currency);
    char what[32];

    if (e < 0)
        return (fs_status)fs_error_set(err, FS_ERANGE,
                                       "'%.8s' is not an ISO 4217 currency code",
                                       currency ? currency : "");
    snprintf(what, sizeof what, "amount in %s", currency);
    if (e == 0 && text && strchr(text, '.'))
        return (fs_status)fs_error_set(err, FS_ERANGE,
                                       "amount '%.40s': %s has no decimals",
                                       text, currency);
    return scaled(text, e, minor, what, err);
}

fs_status fs_percent_parse(const char *text, int64_t *bp, fs_error *err)
{
    char buf[48];
    size_t n = text ? strlen(text) : 0;
    int64_t v;
    fs_status st;

    if (n && text[n - 1] == '%')
        n--;
    if (n >= sizeof buf)
        return (fs_status)fs_error_set(err, FS_ERANGE, "percentage '%.40s' is too long",
                                       text);
    memcpy(buf, text ? text : "", n);
    buf[n] = '\0';
    if ((st = scaled(buf, 2, &v, "percentage", err)) != FS_OK)
        return st;
    if (v > 10000)
        return (fs_status)fs_error_set(err, FS_ERANGE,
                                       "percentage '%.40s' is over 100%%", text);
    *bp = v;
    return FS_OK;
}

size_t fs_percent_format(int64_t bp, char *out, size_t cap)
{
    int w;
    int64_t mag = bp < 0 ? -bp : bp;

    if (mag % 100 == 0)
        w = snprintf(out, cap, "%s%lld%%", bp < 0 ? "-" : "", (long long)(mag / 100));
    else if (mag % 10 == 0)
        w = snprintf(out, cap, "%s%lld.%lld%%", bp < 0 ? "-" : "",
                     (long long)(mag / 100), (long long)(mag % 100 / 10));
    else
        w = snprintf(out, cap, "%s%lld.%02lld%%", bp < 0 ? "-" : "",
                     (long long)(mag / 100), (long long)(mag % 100));
    return w < 0 ? 0 : (size_t)w;
}
