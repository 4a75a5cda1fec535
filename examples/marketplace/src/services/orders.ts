import { OrderStatus } from "@prisma/client";
import { prisma } from "@/lib/prisma";

export type CartLine = { productId: string; quantity: number };

export async function placeOrder(customerId: string, lines: CartLine[]) {
  return prisma.$transaction(async (tx) => {
    const products = await tx.product.findMany({
      where: { id: { in: lines.map((l) => l.productId) } },
      select: { id: true, priceCents: true, stock: true },
    });
    const byId = new Map(products.map((p) => [p.id, p]));
    let totalCents = 0;
    for (const line of lines) {
      const product = byId.get(line.productId);
      if (!product || product.stock < line.quantity) {
        throw new Error(`product ${line.productId} is out of stock`);
      }
      totalCents += product.priceCents * line.quantity;
    }
    return tx.order.create({
      data: {
        customerId,
        totalCents,
        items: {
          create: lines.map((l) => ({
            productId: l.productId,
            quantity: l.quantity,
            unitPriceCents: byId.get(l.productId)!.priceCents,
          })),
        },
      },
    });
  });
}

export async function listCustomerOrders(customerId: string, cursor?: string) {
  return prisma.order.findMany({
    where: { customerId },
    orderBy: { createdAt: "desc" },
    take: 20,
    ...(cursor ? { skip: 1, cursor: { id: cursor } } : {}),
    select: { id: true, status: true, totalCents: true, createdAt: true },
  });
}

export async function markShipped(orderId: string) {
  return prisma.order.update({ where: { id: orderId }, data: { status: OrderStatus.SHIPPED } });
}
