import { prisma } from "@/lib/prisma";

export async function searchProducts(term: string, categoryId?: string) {
  return prisma.product.findMany({
    where: {
      title: { contains: term, mode: "insensitive" },
      ...(categoryId ? { categoryId } : {}),
    },
    orderBy: { createdAt: "desc" },
    take: 25,
    select: { id: true, title: true, priceCents: true },
  });
}
