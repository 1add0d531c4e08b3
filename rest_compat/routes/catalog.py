"""Catalog routes (public)."""

from __future__ import annotations

from rest_compat.route import (
    PAGE_PARAMS,
    Page,
    QueryParam,
    Route,
    Single,
    combine,
    id_left_out,
    paged,
    path,
    query,
)

PRODUCT = Route(
    "GET", "/api/v1/catalog/products/{id}", "catalog/product",
    "One active product by ID.",
    variables=path("id"),
    respond=Single("item", "Product not found"),
    errors=(400, 404),
    tag="catalog",
    cacheable=True,
)
CATEGORY_PRODUCTS = Route(
    "GET", "/api/v1/catalog/products/category/{id}", "catalog/category_products",
    "Active products of one category, newest first.",
    variables=combine(paged, path("id")),
    respond=Page(require="category", not_found="Category not found"),
    query_params=PAGE_PARAMS,
    errors=(400, 404),
    tag="catalog",
    cacheable=True,
)

CATALOG = [
    Route(
        "GET", "/api/v1/catalog/products", "catalog/products",
        "List active products, newest first; `keyword` searches name and description.",
        variables=combine(paged, query(search="keyword")),
        respond=Page(),
        query_params=(
            *PAGE_PARAMS,
            QueryParam("keyword", "Case-insensitive substring of the name or description; "
                       "% and _ are literal."),
        ),
        errors=(400,),
        tag="catalog",
        cacheable=True,
    ),
    PRODUCT,
    CATEGORY_PRODUCTS,
    # ROUTES.md's "400 Product ID is required" (and Category's) at the path with the id left out.
    id_left_out(PRODUCT),
    id_left_out(CATEGORY_PRODUCTS),
    Route(
        "GET", "/api/v1/catalog/categories", "catalog/categories",
        "Active categories, newest first.",
        variables=paged,
        respond=Page(),
        query_params=PAGE_PARAMS,
        errors=(400,),
        tag="catalog",
        cacheable=True,
    ),
    Route(
        "GET", "/api/v1/catalog/brands", "catalog/brands",
        "Active brands, newest first.",
        variables=paged,
        respond=Page(),
        query_params=PAGE_PARAMS,
        errors=(400,),
        tag="catalog",
        cacheable=True,
    ),
]
