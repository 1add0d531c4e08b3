// A minimal typed client over the generated documents: what a front end built on ShopQL
// writes. `tsc` checks that variables and results match the schema (make clients).
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { print } from "graphql";

import {
  AddToCartDocument,
  CatalogProductsDocument,
  CheckoutDocument,
  SignInDocument,
  type CatalogProductsQuery,
  type ErrorCode,
  type OrderCreateInput,
} from "../generated/graphql";

export class GraphQLRequestError extends Error {
  constructor(readonly codes: string[], message: string) {
    super(message);
  }
}

interface Response<T> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

export async function request<Result, Variables>(
  endpoint: string,
  document: TypedDocumentNode<Result, Variables>,
  variables: Variables,
  token?: string,
): Promise<Result> {
  const response = await fetch(endpoint, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      Accept: "application/graphql-response+json",
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query: print(document), variables }),
  });
  const body = (await response.json()) as Response<Result>;
  if (body.errors?.length || !body.data) {
    const codes = (body.errors ?? []).map((error) => error.extensions?.code ?? "UNKNOWN");
    throw new GraphQLRequestError(codes, body.errors?.[0]?.message ?? `HTTP ${response.status}`);
  }
  return body.data;
}

/** Formats minor units for display; amounts are integers (cents), never floats. */
export function formatMoney(money: { amount: number; currency: string }): string {
  return new Intl.NumberFormat("en-US", { style: "currency", currency: money.currency }).format(money.amount / 100);
}

export async function buyFirstMatch(endpoint: string, email: string, password: string, keyword: string) {
  const signIn = await request(endpoint, SignInDocument, { email, password });
  const token = signIn.authLogin.accessToken;
  if (!token) {
    const codes: ErrorCode[] = signIn.authLogin.errors.map((error) => error.code);
    throw new GraphQLRequestError(codes, "sign-in refused");
  }
  const catalog = await request(endpoint, CatalogProductsDocument, { search: keyword, first: 5 });
  const product = catalog.products.nodes.find((node) => node.inStock);
  if (!product) return null;
  console.log(`${product.name}: ${formatMoney(product.effectivePrice)} (${product.brand?.name ?? "no brand"})`);

  const added = await request(endpoint, AddToCartDocument, { productId: product.id, quantity: 1 }, token);
  if (added.cartItemAdd.errors.length) return null;

  const input: OrderCreateInput = {
    shippingAddress: {
      firstName: "Ada", lastName: "Lovelace", address1: "1 Main St", city: "New York",
      state: "NY", postalCode: "10001", country: "US",
    },
    shippingMethodId: "ship_standard",
    idempotencyKey: `checkout-${product.id}`,
  };
  const checkout = await request(endpoint, CheckoutDocument, { input }, token);
  const order = checkout.orderCreate.order;
  return order ? { number: order.orderNumber, total: formatMoney(order.total), status: order.status } : null;
}

// The generated types refuse what the schema refuses: these lines must not compile.
export function rejectedByTheTypes(endpoint: string) {
  // @ts-expect-error quantity is an Int, not a string
  void request(endpoint, AddToCartDocument, { productId: "prod_1", quantity: "2" });
  // @ts-expect-error productId is required
  void request(endpoint, AddToCartDocument, { quantity: 2 });
  // @ts-expect-error `description` was not selected in CatalogProducts
  return (result: CatalogProductsQuery) => result.products.nodes[0]?.description;
}
