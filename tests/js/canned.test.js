// Canned replies' variables and the /shortcut picker's matching (static/console/template.js).
import { describe, expect, it } from "vitest";
import { expand, matching, unfilled } from "../../static/console/template.js";

const vars = {
  customer: { name: "Zoé", email: "zoe@example.com" },
  agent: { name: "Alice Martin" },
  collected: { order_number: "DIY-1234567", topic: "order", empty: "" },
};

describe("expand", () => {
  it("fills the customer, the agent and the collected fields", () => {
    expect(expand("Hi {{customer.name}}, I'm {{ agent.name }}.", vars)).toBe("Hi Zoé, I'm Alice Martin.");
    expect(expand("Order {{order_number}} / {{collected.order_number}}", vars)).toBe("Order DIY-1234567 / DIY-1234567");
  });
  it("leaves unknown, empty and object variables as written", () => {
    expect(expand("{{customer.phone}} {{nope}} {{empty}} {{customer}}", vars)).toBe("{{customer.phone}} {{nope}} {{empty}} {{customer}}");
  });
  it("gives a missing or empty variable its default, as automation rules do", () => {
    expect(expand('Thanks {{customer.phone|default:"there"}}, {{ empty | default:\'friend\' }}', vars)).toBe("Thanks there, friend");
    expect(expand('Hi {{customer.name|default:"there"}}', vars)).toBe("Hi Zoé");
    expect(unfilled(expand('{{nope|default:""}}{{gone}}', vars)).map((v) => v.text)).toEqual(["{{gone}}"]);
  });
  it("does not walk the prototype chain", () => {
    expect(expand("{{customer.constructor}} {{__proto__}}", vars)).toBe("{{customer.constructor}} {{__proto__}}");
  });
  it("inserts values as they are (the composer is a textarea: text, never HTML)", () => {
    const evil = { customer: { name: "<img src=x onerror=alert(1)>" } };
    expect(expand("Hi {{customer.name}}", evil)).toBe("Hi <img src=x onerror=alert(1)>");
  });
});

describe("unfilled", () => {
  it("finds the variables left, with where they are, so the composer can select one", () => {
    const text = expand("Hi {{customer.name}}, order {{order_number}}: {{ tracking }}", vars);
    expect(unfilled(text)).toEqual([{ text: "{{ tracking }}", start: 27, end: 41 }]);
    expect(unfilled("Hi {{customer.phone}} and {{x}}").map((v) => v.text)).toEqual(["{{customer.phone}}", "{{x}}"]);
  });
  it("ignores braces that are not a variable", () => {
    expect(unfilled("{} {{}} {{a b}} { {x} }")).toEqual([]);
  });
});

describe("matching", () => {
  const replies = [
    { id: 1, shortcut: "refund", title: "Refund on its way", site: null, personal: false },
    { id: 2, shortcut: "hello", title: "Greeting", site: 1, personal: false },
    { id: 3, shortcut: "hello2", title: "Greeting", site: 2, personal: false },
    { id: 4, shortcut: "hi", title: "My hi", site: null, personal: true },
  ];
  it("keeps this site's and every site's replies, personal first", () => {
    expect(matching(replies, "h", 1).map((r) => r.id)).toEqual([4, 2]);
    expect(matching(replies, "", 2).map((r) => r.id)).toEqual([4, 3, 1]);
  });
  it("also finds by title past one character", () => {
    expect(matching(replies, "way", 1).map((r) => r.id)).toEqual([1]);
  });
});
