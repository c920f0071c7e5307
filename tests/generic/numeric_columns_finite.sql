{#
    numeric_columns_finite: no NaN and no +-infinity in any float or double column of the
    model, nor in any element of an array of floats or doubles (the sequences' amounts and
    days). Model-level: the columns are read from the built relation, so a new feature column
    is covered without a yml change. Nulls pass (pair with not_null where they must not be).
    `exclude`: column names to skip. Returns the failing rows. No `where` config: the columns
    are read from the relation itself, which a `where` would turn into a subquery.
    Why `not (abs(x) < inf)`: NaN compares above every number in Spark, so `x >= 0` and
    `x = x` are both true for NaN; `abs(NaN) < inf` is false, and so is `abs(+-inf) < inf`.
#}
{% test numeric_columns_finite(model, exclude=[]) %}
    {%- set conditions = [] -%}
    {%- if execute -%}
        {%- for column in adapter.get_columns_in_relation(model) if column.name not in exclude -%}
            {%- set dtype = column.dtype | lower -%}
            {%- if dtype in ('float', 'double') -%}
                {%- do conditions.append("not (abs(" ~ column.name ~ ") < double('inf'))") -%}
            {%- elif dtype in ('array<float>', 'array<double>') -%}
                {%- do conditions.append(
                    "exists(" ~ column.name ~ ", x -> x is not null and not (abs(x) < double('inf')))"
                ) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif %}
select *
from {{ model }}
where
    -- never true: lets each column below be added as an `or`
    1 = 2
    {%- for condition in conditions %}
    or {{ condition }}
    {%- endfor %}
{% endtest %}
