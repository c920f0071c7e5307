{#
  Row checks shared by the staging base models (what each bad value becomes is documented
  per column in models/staging/platform/_platform__models.yml and in the README, "What
  happens to bad input").

  clean_id(expr)             an id trimmed of every Unicode space, control and format character
                             (tab, no-break space, U+3000, BOM, zero-width space), not only ASCII
                             spaces; empty -> null.
  plausible_amount(expr, field)
                             the value when it is finite, >= 0 and <= var('plausible_max')[field],
                             else null. NaN and +inf fail `<= bound` (Spark orders NaN above every
                             number), -inf fails `>= 0`.
  is_implausible_amount(expr, field)
                             true when the value was present but plausible_amount nulled it.
  has_invalid_utf8(exprs)    true when any of the string (or array<string>) expressions holds
                             bytes that are not valid UTF-8; null-safe, never null.
  calendar_window()          the declared snapshot calendar {start, end, months, snapshots} from
                             vars calendar_start_dt / calendar_end_dt, checked at compile time:
                             a malformed month, an empty window or too few months for
                             var oot_months stops the build before any table is touched.
  in_calendar_window(expr)   true when a landing month string lies in the declared window.
#}

{% macro clean_id(expr) -%}
    nullif(regexp_replace({{ expr }}, '^[\\s\\p{Z}\\p{C}]+|[\\s\\p{Z}\\p{C}]+$', ''), '')
{%- endmacro %}

{% macro plausible_amount(expr, field) -%}
    case
        when not isnan({{ expr }}) and {{ expr }} >= 0 and {{ expr }} <= {{ var('plausible_max')[field] }}
            then {{ expr }}
    end
{%- endmacro %}

{% macro is_implausible_amount(expr, field) -%}
    coalesce({{ expr }} is not null and {{ plausible_amount(expr, field) }} is null, false)
{%- endmacro %}

{% macro has_invalid_utf8(exprs, array_exprs=[]) -%}
    coalesce(
        {%- for expr in exprs %}
        not is_valid_utf8({{ expr }}) or
        {%- endfor %}
        {%- for expr in array_exprs %}
        exists({{ expr }}, element -> not is_valid_utf8(element)) or
        {%- endfor %}
        false,
        false
    )
{%- endmacro %}

{% macro calendar_window() %}
    {%- set start = var('calendar_start_dt') | string -%}
    {%- set end = var('calendar_end_dt') | string -%}
    {%- set month_re = modules.re.compile('^[0-9]{4}-(0[1-9]|1[0-2])-01$') -%}
    {%- for name, value in [('calendar_start_dt', start), ('calendar_end_dt', end)] -%}
        {%- if not month_re.match(value) -%}
            {{ exceptions.raise_compiler_error(
                "var " ~ name ~ " must be the first day of a month, 'YYYY-MM-01'; got '" ~ value ~ "'"
            ) }}
        {%- endif -%}
    {%- endfor -%}
    {%- set first_index = (start[0:4] | int) * 12 + (start[5:7] | int) - 1 -%}
    {%- set last_index = (end[0:4] | int) * 12 + (end[5:7] | int) - 1 -%}
    {%- set months = [] -%}
    {%- for index in range(first_index, last_index + 1) -%}
        {%- do months.append('%04d-%02d-01' % (index // 12, index % 12 + 1)) -%}
    {%- endfor -%}
    {#- the first month is history only: a snapshot at dt sees only months before it -#}
    {%- set snapshots = months[1:] -%}
    {%- set oot = var('oot_months') | int -%}
    {%- if snapshots | length < oot + 1 -%}
        {{ exceptions.raise_compiler_error(
            "the declared calendar " ~ start ~ " .. " ~ end ~ " has " ~ (months | length) ~ " month(s), so "
            ~ (snapshots | length) ~ " snapshot month(s) (the first month is history only); oot_months = "
            ~ oot ~ " needs at least " ~ (oot + 2) ~ " months (" ~ (oot + 1)
            ~ " snapshot months: one or more training months and " ~ oot ~ " out-of-time). "
            ~ "Set vars calendar_start_dt / calendar_end_dt to the months that landed, or lower oot_months."
        ) }}
    {%- endif -%}
    {{ return({'start': start, 'end': end, 'months': months, 'snapshots': snapshots}) }}
{% endmacro %}

{% macro in_calendar_window(expr) -%}
    {%- set window = calendar_window() -%}
    coalesce({{ expr }} rlike '^[0-9]{4}-[0-9]{2}-01$' and {{ expr }} between '{{ window.start }}' and '{{ window.end }}', false)
{%- endmacro %}
